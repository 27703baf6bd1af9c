// End to end, as a user runs it: `btfmill run --config` against a Debian-format mirror on
// 127.0.0.1 built with dpkg-deb, apt-ftparchive and gpg, then `btfmill list`, then a second run.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import type { Manifest } from "../../archive/manifest.ts";
import { readManifest } from "../../archive/state.ts";
import type { RunReport } from "../../pipeline/run-report.ts";
import {
  buildAptMirror,
  createSigningKey,
  dbgPackage,
  tamperPackage,
  truncatePackage,
  type AptMirror,
} from "../fixtures/apt-mirror.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

const btfmill = runBtfmill;

/** A vmlinux whose DWARF is the normal kernel.c but whose own `.BTF` describes the "renamed" variant. */
async function vmlinuxWithForeignBtf(dir: string): Promise<string> {
  const renamed = await makeVmlinux(join(dir, "renamed.o"), { variant: "renamed" });
  await execa("pahole", [`--btf_encode_detached=${join(dir, "renamed.btf")}`, renamed]);
  const out = await makeVmlinux(join(dir, "foreign-btf.o"));
  await execa("objcopy", ["--add-section", `.BTF=${join(dir, "renamed.btf")}`, out]);
  return out;
}

describe("btfmill run on a Debian-format mirror", () => {
  let work: string;
  let mirror: AptMirror;
  let server: StaticServer;
  let archive: string;
  let configPath: string;
  let first: Awaited<ReturnType<typeof btfmill>>;
  let manifest: Manifest;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-e2e-"));
    const withBtf = await makeVmlinux(join(work, "with-btf.o"), { withBtf: true });
    const plain = await makeVmlinux(join(work, "plain.o"));
    const noDwarf = await makeVmlinux(join(work, "no-dwarf.o"), { withoutDwarf: true });
    const foreign = await vmlinuxWithForeignBtf(work);
    await mkdir(join(work, "keys"));
    await mkdir(join(work, "other-keys"));
    const key = await createSigningKey(join(work, "keys"));
    mirror = await buildAptMirror(join(work, "mirror"), {
      arch: "amd64",
      key,
      suites: {
        bookworm: [
          dbgPackage({ kernel: "6.1.0-1-cloud-amd64", version: "6.1.10-1", vmlinux: withBtf }),
          dbgPackage({ kernel: "6.1.0-1-amd64", version: "6.1.10-1", vmlinux: plain }),
          dbgPackage({ kernel: "5.10.0-9-amd64", version: "5.10.70-1", vmlinux: plain, compression: "gzip" }),
          dbgPackage({ kernel: "6.1.0-2-cloud-amd64", version: "6.1.11-1", vmlinux: plain }),
          dbgPackage({ kernel: "6.1.0-3-cloud-amd64", version: "6.1.12-1", vmlinux: plain }),
          dbgPackage({ kernel: "6.1.0-4-cloud-amd64", version: "6.1.13-1" }),
          dbgPackage({ kernel: "6.1.0-6-cloud-amd64", version: "6.1.15-1", vmlinux: noDwarf }),
          dbgPackage({ kernel: "6.1.0-7-cloud-amd64", version: "6.1.16-1", vmlinux: foreign }),
          {
            name: "linux-image-cloud-amd64-dbg",
            version: "6.1.16-1",
            files: [{ path: "usr/share/doc/meta/README", contents: "meta\n" }],
          },
        ],
        "bookworm-updates": [],
        "bookworm-security": [
          dbgPackage({ kernel: "6.1.0-5-cloud-amd64", version: "6.1.14-1", vmlinux: plain, compression: "zstd" }),
        ],
      },
    });
    await tamperPackage(mirror, "linux-image-6.1.0-2-cloud-amd64-dbg");
    await truncatePackage(mirror, "linux-image-6.1.0-3-cloud-amd64-dbg");
    // Release 11 is signed by a key the config does not trust: its source must go stale.
    await buildAptMirror(join(work, "mirror"), {
      arch: "amd64",
      key: await createSigningKey(join(work, "other-keys"), "someone else"),
      suites: { bullseye: [], "bullseye-updates": [], "bullseye-security": [] },
    });
    server = await startStaticServer(join(work, "mirror"));
    archive = join(work, "archive");
    configPath = join(work, "btfmill.json");
    await writeFile(
      configPath,
      JSON.stringify({
        archive,
        sources: [
          // Every kernel is converted, even after one that ships BTF: the broken ones must fail here.
          {
            distro: "debian",
            release: "12",
            arch: "x86_64",
            mirror: server.url,
            keyring: mirror.keyring,
            kernelsWithBtf: "all",
          },
          { distro: "debian", release: "11", arch: "x86_64", mirror: server.url, keyring: mirror.keyring },
        ],
      }),
    );
    first = await btfmill(["run", "--config", configPath]);
    manifest = await readManifest(archive);
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const entry = (kernel: string) => manifest.kernels[`debian/12/x86_64/${kernel}`];

  it("exits non-zero with a summary naming each failure and the stale source", () => {
    expect(first.exitCode).toBe(1);
    expect(first.stderr).toMatch(/summary: 4 ok, 5 failed, 0 skipped, 0 unchanged, 1 source\(s\) stale/);
    expect(first.stderr).toContain("failed debian/12/x86_64/6.1.0-2-cloud-amd64");
    expect(first.stderr).toContain("stale debian/11/x86_64");
  });

  it("archives exactly the good kernels, each a verified .btf.tar.xz whose sha256 the manifest records", async () => {
    const ok = Object.entries(manifest.kernels)
      .filter(([, e]) => e.status === "ok")
      .map(([key]) => key)
      .sort();
    expect(ok).toEqual([
      "debian/12/x86_64/5.10.0-9-amd64",
      "debian/12/x86_64/6.1.0-1-amd64",
      "debian/12/x86_64/6.1.0-1-cloud-amd64",
      "debian/12/x86_64/6.1.0-5-cloud-amd64",
    ]);
    for (const key of ok) {
      const e = manifest.kernels[key]!;
      expect(e.tarball?.path).toBe(`${key}.btf.tar.xz`);
      expect(await digestFile(join(archive, e.tarball!.path))).toEqual({
        sha256: e.tarball!.sha256,
        size: e.tarball!.size,
      });
      const kernel = e.key.kernel;
      const listing = await execa("tar", ["--numeric-owner", "-tvJf", join(archive, e.tarball!.path)]);
      expect(listing.stdout).toMatch(
        new RegExp(`^-r--r--r-- 0/0 +${e.btf!.size} 1970-01-01 00:00 ${kernel.replace(/\./g, "\\.")}\\.btf$`),
      );
      const btf = await execa("tar", ["-xJOf", join(archive, e.tarball!.path)], { encoding: "buffer" });
      expect(btf.stdout.length).toBe(e.btf!.size);
      const file = join(work, `${kernel}.btf`);
      await writeFile(file, btf.stdout);
      await execa("bpftool", ["btf", "dump", "file", file]);
    }
  });

  it("records provenance: package URL, version, sha256, origin suite, pahole version and flags, and the pinned toolchain's packages", () => {
    const e = entry("6.1.0-5-cloud-amd64")!;
    const built = mirror.packages.find((p) => p.name === "linux-image-6.1.0-5-cloud-amd64-dbg")!;
    expect(e.package).toEqual({
      name: built.name,
      version: "6.1.14-1",
      url: `${server.url}/${built.filename}`,
      sha256: built.sha256,
      size: built.size,
      origin: "bookworm-security",
    });
    expect(e.flavor).toBe("cloud-amd64");
    expect(e.pahole?.version).toMatch(/^v1\.(3\d|[4-9]\d)/);
    expect(e.pahole?.flags).toEqual([expect.stringMatching(/^--btf_features=.*\bfloat\b.*\benum64\b/)]);
    expect(e.bpftool?.version).toMatch(/bpftool v/);
    expect(e.toolchain?.suite).toBe("trixie");
    const pahole = e.toolchain?.packages.find((pkg) => pkg.name === "pahole");
    expect(pahole?.version).toMatch(/^1\.\d+/);
    expect(pahole?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("compares against the kernel's own .BTF when the vmlinux has one", () => {
    expect(entry("6.1.0-1-cloud-amd64")?.kernelHasBtf).toBe(true);
    expect(entry("6.1.0-1-amd64")?.kernelHasBtf).toBe(false);
    expect(entry("6.1.0-1-amd64")?.kernelBtf).toBeUndefined();
    expect(entry("6.1.0-7-cloud-amd64")).toMatchObject({ status: "failed" });
    expect(entry("6.1.0-7-cloud-amd64")?.reason).toMatch(
      /struct layouts differ from the kernel's own BTF.*struct tcp_sock::srtt/,
    );
  });

  it("records the kernel's own .BTF beside ours: its digest, as objcopy extracts it, and how many named struct/union layouts matched", async () => {
    await execa("objcopy", [
      "--dump-section",
      `.BTF=${join(work, "own.btf")}`,
      join(work, "with-btf.o"),
      join(work, "with-btf.copy.o"),
    ]);
    const own = await digestFile(join(work, "own.btf"));
    expect(entry("6.1.0-1-cloud-amd64")?.kernelBtf).toEqual({ ...own, layouts: expect.any(Number) });
    expect(entry("6.1.0-1-cloud-amd64")!.kernelBtf!.layouts).toBeGreaterThan(0);
  });

  it("gives a 5.10 kernel no BTF kind newer than 5.10", () => {
    const e = entry("5.10.0-9-amd64")!;
    expect(e.pahole?.flags).toEqual([expect.not.stringMatching(/enum64|type_tag|decl_tag|float/)]);
    expect(e.kinds).not.toContain("ENUM64");
    expect(e.kinds).not.toContain("TYPE_TAG");
    expect(e.kinds).not.toContain("DECL_TAG");
    expect(e.kinds).toContain("STRUCT");
  });

  it("records each broken package as failed with a reason that says what is wrong", () => {
    expect(entry("6.1.0-2-cloud-amd64")).toMatchObject({ status: "failed", transient: false });
    expect(entry("6.1.0-2-cloud-amd64")?.reason).toMatch(/^IntegrityError: .*sha256/i);
    expect(entry("6.1.0-3-cloud-amd64")?.reason).toMatch(/(IntegrityError|FetchError|FormatError): /);
    expect(entry("6.1.0-4-cloud-amd64")?.reason).toMatch(/^VmlinuxNotFoundError: /);
    expect(entry("6.1.0-6-cloud-amd64")?.reason).toMatch(/^FormatError: the vmlinux has no DWARF/);
    expect(manifest.kernels["debian/12/x86_64/cloud-amd64"]).toBeUndefined();
  });

  it("marks a source whose signature does not verify as stale and keeps going", () => {
    expect(manifest.sources["debian/11/x86_64"]).toMatchObject({ status: "stale" });
    expect(manifest.sources["debian/11/x86_64"]?.reason).toMatch(/IntegrityError/);
    expect(manifest.sources["debian/12/x86_64"]).toMatchObject({ status: "ok" });
  });

  it("writes a machine-readable report: counts per source and status, time per stage, bytes downloaded, failures", async () => {
    const path = /^report: (.+)$/m.exec(first.stderr)?.[1];
    expect(path).toMatch(new RegExp(`^${archive}/reports/.+\\.json$`));
    const report = JSON.parse(await readFile(path!, "utf8")) as RunReport;
    expect(report.sources["debian/12/x86_64"]).toMatchObject({ status: "ok", found: 9, kernels: { ok: 4, failed: 5 } });
    expect(report.sources["debian/11/x86_64"]).toMatchObject({
      status: "stale",
      reason: expect.stringContaining("IntegrityError"),
    });
    // The truncated package is refused on its Content-Length, before a byte is read.
    expect(report.stages.download?.kernels).toBe(8);
    expect(report.stages.convert?.kernels).toBe(6);
    expect(report.stages.convert!.seconds).toBeGreaterThan(0);
    const downloaded = mirror.packages.filter(
      (p) => p.suite !== "bullseye" && p.name !== "linux-image-cloud-amd64-dbg",
    );
    expect(report.downloadedBytes).toBeGreaterThan(0);
    expect(report.downloadedBytes).toBeLessThanOrEqual(downloaded.reduce((sum, p) => sum + p.size, 0));
    expect(report.summary.failed.map((f) => f.kernel)).toContain("debian/12/x86_64/6.1.0-2-cloud-amd64");
    // Every kernel this run finished, ok or failed, with its own wall-clock seconds.
    expect(Object.keys(report.kernels).sort()).toEqual(
      Object.keys(manifest.kernels)
        .filter((key) => key.startsWith("debian/12/"))
        .sort(),
    );
    expect(Object.values(report.kernels).every((seconds) => seconds >= 0)).toBe(true);
    expect(report.kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"]).toBeGreaterThan(0);
  });

  it("list prints the manifest", async () => {
    const listed = await btfmill(["list", "--config", configPath]);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toMatch(
      /^ok +debian\/12\/x86_64\/6\.1\.0-1-cloud-amd64 +debian\/12\/x86_64\/6\.1\.0-1-cloud-amd64\.btf\.tar\.xz/m,
    );
    expect(listed.stdout).toMatch(/^failed +debian\/12\/x86_64\/6\.1\.0-4-cloud-amd64 +VmlinuxNotFoundError/m);
    const json = JSON.parse((await btfmill(["list", "--config", configPath, "--json"])).stdout) as Manifest;
    expect(Object.keys(json.kernels)).toHaveLength(9);
  });

  it("a second run downloads no package, and a deleted tarball comes back with the same bytes", async () => {
    const before = server.requests.length;
    const second = await btfmill(["run", "--config", configPath, "--release", "12"]);
    expect(second.stderr).toMatch(/summary: 0 ok, 0 failed, 0 skipped, 9 unchanged/);
    expect(second.exitCode).toBe(0);
    expect(server.requests.slice(before).filter((r) => r.path.endsWith(".deb"))).toEqual([]);

    const e = entry("6.1.0-1-cloud-amd64")!;
    await rm(join(archive, e.tarball!.path));
    const third = await btfmill(["run", "--config", configPath, "--release", "12"]);
    expect(third.exitCode).toBe(0);
    expect(third.stderr).toMatch(/summary: 1 ok, 0 failed, 0 skipped, 8 unchanged/);
    expect(await digestFile(join(archive, e.tarball!.path))).toEqual({
      sha256: e.tarball!.sha256,
      size: e.tarball!.size,
    });
  });
});
