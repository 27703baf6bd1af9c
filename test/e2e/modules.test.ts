// End to end, with a source's `modules`: `btfmill run` against a Debian-format mirror on 127.0.0.1
// whose debug packages carry module debug files after the vmlinux; each selected module becomes
// split BTF against the kernel's BTF, packed beside the kernel's tarball and recorded in the manifest.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import type { Manifest } from "../../archive/manifest.ts";
import { openGenSource } from "../../site/gen-sources.ts";
import { readManifest } from "../../archive/state.ts";
import { publishSite } from "../../site/publish.ts";
import type { PullIndex } from "../../site/pull-index.ts";
import { buildAptMirror, createSigningKey, dbgPackage, type AptMirror } from "../fixtures/apt-mirror.ts";
import { makeModule, makeVmlinux } from "../fixtures/vmlinux.ts";
import { buildGoConsumer } from "../helpers/cilium-check.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

const ciliumSplitSource = fileURLToPath(new URL("../consumers/cilium-split/main.go", import.meta.url));

describe("btfmill run with modules selected", () => {
  let work: string;
  let mirror: AptMirror;
  let server: StaticServer;
  let first: Awaited<ReturnType<typeof runBtfmill>>;
  let manifest: Manifest;
  const archive = () => join(work, "archive");

  async function runInto(archiveDir: string, modules: unknown): Promise<Awaited<ReturnType<typeof runBtfmill>>> {
    const config = join(work, `${archiveDir.split("/").at(-1)}.json`);
    await writeFile(
      config,
      JSON.stringify({
        archive: archiveDir,
        sources: [
          {
            distro: "debian",
            release: "12",
            arch: "x86_64",
            mirror: server.url,
            keyring: mirror.keyring,
            kernelsWithBtf: "all",
            modules,
          },
        ],
      }),
    );
    return runBtfmill(["run", "--config", config]);
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-e2e-modules-"));
    const plain = await makeVmlinux(join(work, "plain.o"));
    const withBtf = await makeVmlinux(join(work, "with-btf.o"), { withBtf: true });
    const plainModule = await makeModule(join(work, "plain-module.ko"));
    const ownBtfModule = await makeModule(join(work, "own-btf-module.ko"), { btfBase: withBtf });
    const foreignBtfModule = await makeModule(join(work, "foreign-btf-module.ko"), {
      btfBase: withBtf,
      foreignBtf: true,
    });
    await mkdir(join(work, "keys"));
    mirror = await buildAptMirror(join(work, "mirror"), {
      arch: "amd64",
      key: await createSigningKey(join(work, "keys")),
      suites: {
        bookworm: [
          dbgPackage({
            kernel: "6.1.0-1-cloud-amd64",
            version: "6.1.10-1",
            vmlinux: plain,
            modules: { "net/netfilter/nf_conntrack.ko": plainModule, "fs/xfs/xfs.ko": plainModule },
          }),
          dbgPackage({
            kernel: "6.1.0-2-cloud-amd64",
            version: "6.1.11-1",
            vmlinux: withBtf,
            modules: { "net/netfilter/nf_conntrack.ko": ownBtfModule },
          }),
          dbgPackage({
            kernel: "6.1.0-3-cloud-amd64",
            version: "6.1.12-1",
            vmlinux: withBtf,
            modules: { "net/netfilter/nf_conntrack.ko": foreignBtfModule },
          }),
        ],
        "bookworm-updates": [],
        "bookworm-security": [],
      },
    });
    server = await startStaticServer(join(work, "mirror"));
    first = await runInto(archive(), ["nf_conntrack", "kvm-intel"]);
    manifest = await readManifest(archive());
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const entry = (kernel: string) => manifest.kernels[`debian/12/x86_64/${kernel}`]!;

  it("converts the kernels and records the selection, the module made, and the one the package lacks", () => {
    expect(first.stderr).toMatch(/summary: 2 ok, 1 failed/);
    for (const kernel of ["6.1.0-1-cloud-amd64", "6.1.0-2-cloud-amd64"]) {
      expect(entry(kernel).modules).toMatchObject({
        selected: ["kvm_intel", "nf_conntrack"],
        tarball: { path: `debian/12/x86_64/${kernel}.modules.btf.tar.xz` },
        missing: ["kvm_intel"],
      });
      expect(Object.keys(entry(kernel).modules!.files)).toEqual(["nf_conntrack"]);
    }
  });

  it("packs each module's split BTF as <module>.btf, owner 0, mode a=r, mtime 0, with the sha256 the manifest records", async () => {
    for (const kernel of ["6.1.0-1-cloud-amd64", "6.1.0-2-cloud-amd64"]) {
      const modules = entry(kernel).modules!;
      const tarball = join(archive(), modules.tarball!.path);
      expect(await digestFile(tarball)).toEqual({ sha256: modules.tarball!.sha256, size: modules.tarball!.size });
      const listing = await execa("tar", ["--numeric-owner", "-tvJf", tarball]);
      expect(listing.stdout).toMatch(
        new RegExp(`^-r--r--r-- 0/0 +${modules.files.nf_conntrack!.size} 1970-01-01 00:00 nf_conntrack\\.btf$`),
      );
      const split = (await execa("tar", ["-xJOf", tarball, "nf_conntrack.btf"], { encoding: "buffer" })).stdout;
      expect(digestOf(split)).toBe(modules.files.nf_conntrack!.sha256);
    }
  });

  it("makes split BTF that bpftool reads only against the kernel's BTF: nf_conn is there, the kernel's types are not repeated", async () => {
    const e = entry("6.1.0-1-cloud-amd64");
    const base = join(work, "base.btf");
    const split = join(work, "nf_conntrack.btf");
    await writeFile(
      base,
      (await execa("tar", ["-xJOf", join(archive(), e.tarball!.path)], { encoding: "buffer" })).stdout,
    );
    await writeFile(
      split,
      (
        await execa("tar", ["-xJOf", join(archive(), e.modules!.tarball!.path), "nf_conntrack.btf"], {
          encoding: "buffer",
        })
      ).stdout,
    );
    const dump = await execa("bpftool", ["-B", base, "btf", "dump", "file", split]);
    expect(dump.stdout).toMatch(/STRUCT 'nf_conn' size=48 vlen=6/);
    expect(dump.stdout).not.toMatch(/STRUCT 'sock' /);
    expect((await execa("bpftool", ["btf", "dump", "file", split], { reject: false })).exitCode).not.toBe(0);
  });

  it("compares a module that carries its own .BTF with it, layout by layout, and records how many struct names it defines", () => {
    expect(entry("6.1.0-1-cloud-amd64").modules!.files.nf_conntrack!.ownBtf).toBeUndefined();
    const own = entry("6.1.0-2-cloud-amd64").modules!.files.nf_conntrack!.ownBtf;
    // module.c defines struct nf_conn; list_head is the kernel's, deduplicated into the base.
    expect(own?.layouts).toBe(1);
  });

  it("fails a kernel whose module's own .BTF disagrees with pahole's reading of its DWARF, naming the module and the field", () => {
    const failed = entry("6.1.0-3-cloud-amd64");
    expect(failed.status).toBe("failed");
    expect(failed.reason).toMatch(
      /module nf_conntrack: struct layouts differ from its own BTF in \d+ place\(s\): .*nf_conn/,
    );
  });

  it("gives the same modules tarball again in a fresh archive: the split BTF and its packing are reproducible", async () => {
    const again = join(work, "again");
    const second = await runInto(again, ["kvm_intel", "nf-conntrack"]);
    expect(second.stderr).toMatch(/summary: 2 ok, 1 failed/);
    const rerun = await readManifest(again);
    for (const [key, e] of Object.entries(manifest.kernels))
      if (e.status === "ok") expect(rerun.kernels[key]!.modules).toEqual(e.modules);
  });

  it("publishes the modules tarball under full/ beside the kernel's, with --full only", async () => {
    const { manifest: cdn } = await publishSite({ archive: archive(), out: join(work, "site"), full: true });
    const kernel = cdn.kernels.find((k) => k.kernel === "6.1.0-1-cloud-amd64")!;
    const modules = entry("6.1.0-1-cloud-amd64").modules!.tarball!;
    expect(kernel.files.modules).toEqual({
      path: "full/debian/12/x86_64/6.1.0-1-cloud-amd64.modules.btf.tar.xz",
      sha256: modules.sha256,
      size: modules.size,
    });
    expect(await digestFile(join(work, "site", kernel.files.modules!.path))).toEqual({
      sha256: modules.sha256,
      size: modules.size,
    });
    const lite = await publishSite({ archive: archive(), out: join(work, "site-lite"), full: false });
    expect(lite.manifest.kernels.some((k) => k.files.modules !== undefined)).toBe(false);
  });

  it("publishes each module's split BTF raw at full/<key>.modules/<module>.btf, naming vmlinux.btf beside it as its base", async () => {
    const { manifest: cdn } = await publishSite({ archive: archive(), out: join(work, "site"), full: true });
    const e = entry("6.1.0-2-cloud-amd64");
    const kernel = cdn.kernels.find((k) => k.kernel === "6.1.0-2-cloud-amd64")!;
    const dir = "full/debian/12/x86_64/6.1.0-2-cloud-amd64.modules";
    const base = { path: `${dir}/vmlinux.btf`, ...e.btf! };
    expect(kernel.files.moduleFiles).toEqual({
      nf_conntrack: { path: `${dir}/nf_conntrack.btf`, ...digestPart(e.modules!.files.nf_conntrack!), base },
    });
    expect(await digestFile(join(work, "site", base.path))).toEqual(e.btf);
    expect(await digestFile(join(work, "site", dir, "nf_conntrack.btf"))).toEqual(
      digestPart(e.modules!.files.nf_conntrack!),
    );
    // The failed kernel publishes none; the extraction folder is gone from the tree.
    expect(cdn.kernels.find((k) => k.kernel === "6.1.0-3-cloud-amd64")!.files.moduleFiles).toBeUndefined();
    expect((await readdir(join(work, "site"))).filter((name) => name.startsWith(".extract-"))).toEqual([]);
  });

  it("pulls the modules asked for beside each kernel's file over HTTP, checked, for bpftool -B and cilium/ebpf's split loader", async () => {
    const site = await startStaticServer(join(work, "site"));
    try {
      const out = join(work, "pulled");
      const pulled = await runBtfmill([
        "pull",
        "--from",
        site.url,
        "--out",
        out,
        "--modules",
        "nf-conntrack,kvm_intel",
      ]);
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      const index = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as PullIndex;
      const record = index.modules!["debian/12/x86_64/6.1.0-1-cloud-amd64"]!;
      const dir = "debian/12/x86_64/6.1.0-1-cloud-amd64.modules";
      expect(record).toEqual({
        base: { path: `${dir}/vmlinux.btf`, ...entry("6.1.0-1-cloud-amd64").btf! },
        files: {
          nf_conntrack: {
            path: `${dir}/nf_conntrack.btf`,
            ...digestPart(entry("6.1.0-1-cloud-amd64").modules!.files.nf_conntrack!),
          },
        },
        missing: ["kvm_intel"],
      });
      const dump = await execa("bpftool", [
        "-B",
        join(out, record.base!.path),
        "btf",
        "dump",
        "file",
        join(out, record.files.nf_conntrack!.path),
      ]);
      expect(dump.stdout).toMatch(/STRUCT 'nf_conn' size=48 vlen=6/);
      const split = await buildGoConsumer(ciliumSplitSource, "cilium-split");
      if ("skip" in split) {
        console.log(`cilium-split skipped: ${split.skip}`);
      } else {
        const read = await execa(split.binary, [
          "-base",
          join(out, record.base!.path),
          "-split",
          join(out, record.files.nf_conntrack!.path),
          "-struct",
          "nf_conn",
        ]);
        const report = JSON.parse(read.stdout) as { splitTypes: number; size: number; members: { name: string }[] };
        expect(report.size).toBe(48);
        expect(report.members.map((member) => member.name)).toEqual([
          "status",
          "list",
          "owner",
          "timeout",
          "mark",
          "zone",
        ]);
        expect(report.splitTypes).toBeGreaterThan(0);
      }
      // A second pull finds every file in place; one dropped from --modules is removed.
      const again = await runBtfmill(["pull", "--from", site.url, "--out", out, "--modules", "nf_conntrack", "--json"]);
      expect(JSON.parse(again.stdout)).toMatchObject({ downloaded: 0 });
      const none = await runBtfmill(["pull", "--from", site.url, "--out", out]);
      expect(none.exitCode, none.stderr).toBe(0);
      await expect(readdir(join(out, dir))).resolves.toEqual([]);
    } finally {
      await site.close();
    }
  });

  it("refuses a module file whose bytes are not the ones the site's manifest names, writing nothing", async () => {
    const tampered = join(work, "site-tampered");
    await execa("cp", ["-rL", join(work, "site"), tampered]);
    const file = join(tampered, "full/debian/12/x86_64/6.1.0-1-cloud-amd64.modules/nf_conntrack.btf");
    const bytes = await readFile(file);
    bytes[bytes.length - 2]! ^= 0xff;
    await rm(file);
    await writeFile(file, bytes);
    const out = join(work, "pulled-tampered");
    const pulled = await runBtfmill(["pull", "--from", tampered, "--out", out, "--modules", "all"]);
    expect(pulled.exitCode).not.toBe(0);
    expect(pulled.stderr).toMatch(/nf_conntrack\.btf has sha256 [0-9a-f]{64}.*the manifest says/);
    await expect(readdir(join(out, "debian/12/x86_64/6.1.0-1-cloud-amd64.modules"))).resolves.not.toContain(
      "nf_conntrack.btf",
    );
  });

  it("offers gen each kernel's modules, from the archive's tarball and from the site's raw files, cached by sha256", async () => {
    const e = entry("6.1.0-2-cloud-amd64");
    const want = digestPart(e.modules!.files.nf_conntrack!);
    const site = await startStaticServer(join(work, "site"));
    try {
      for (const from of [archive(), site.url]) {
        const cache = join(work, "gen-cache", from.startsWith("http") ? "site" : "archive");
        for (const round of [1, 2]) {
          const source = await openGenSource(from, cache);
          const input = source.inputs.find((found) => found.key.kernel === "6.1.0-2-cloud-amd64")!;
          expect(input.modules?.names, from).toEqual(["nf_conntrack"]);
          const paths = await input.modules!.fetch(["nf_conntrack"]);
          expect(await digestFile(paths.nf_conntrack!)).toEqual(want);
          expect(paths.nf_conntrack).toBe(join(cache, "sha256", want.sha256.slice(0, 2), want.sha256));
          expect(source.downloads(), `${from} round ${round}`).toBe(round === 1 ? 1 : 0);
          await expect(input.modules!.fetch(["xfs"])).rejects.toThrow(/no split BTF of module\(s\) xfs/);
        }
      }
    } finally {
      await site.close();
    }
  });

  it("converts a kernel again when the selection changes, and not when it stays", async () => {
    const same = await runInto(archive(), ["nf_conntrack", "kvm_intel"]);
    expect(same.stderr).toMatch(/summary: 0 ok, 0 failed, 0 skipped, 3 unchanged/);
    const more = await runInto(archive(), "all");
    expect(more.stderr).toMatch(/summary: 2 ok, 0 failed/);
    const updated = await readManifest(archive());
    expect(Object.keys(updated.kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"]!.modules!.files)).toEqual([
      "nf_conntrack",
      "xfs",
    ]);
  });
});

// One bad module among thousands must not cost a kernel its BTF when nobody picked that module:
// under "all" it is recorded as failed with its reason; named, it fails the kernel as before.
describe("btfmill run with a bad module in the package", () => {
  let work: string;
  let mirror: AptMirror;
  let server: StaticServer;
  const kernel = "6.1.0-4-cloud-amd64";

  async function run(name: string, modules: unknown): Promise<{ stderr: string; manifest: Manifest }> {
    const config = join(work, `${name}.json`);
    const archiveDir = join(work, name);
    const source = { distro: "debian", release: "12", arch: "x86_64", mirror: server.url, keyring: mirror.keyring };
    await writeFile(
      config,
      JSON.stringify({ archive: archiveDir, sources: [{ ...source, kernelsWithBtf: "all", modules }] }),
    );
    const { stderr } = await runBtfmill(["run", "--config", config]);
    return { stderr, manifest: await readManifest(archiveDir) };
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-e2e-bad-module-"));
    const withBtf = await makeVmlinux(join(work, "with-btf.o"), { withBtf: true });
    const good = await makeModule(join(work, "good.ko"), { btfBase: withBtf });
    const mismatched = await makeModule(join(work, "mismatched.ko"), { btfBase: withBtf, foreignBtf: true });
    const stripped = join(work, "stripped.ko");
    await execa("objcopy", ["--strip-debug", await makeModule(join(work, "plain.ko")), stripped]);
    await mkdir(join(work, "keys"));
    mirror = await buildAptMirror(join(work, "mirror"), {
      arch: "amd64",
      key: await createSigningKey(join(work, "keys")),
      suites: {
        bookworm: [
          dbgPackage({
            kernel,
            version: "6.1.13-1",
            vmlinux: withBtf,
            modules: {
              "net/netfilter/nf_conntrack.ko": good,
              "arch/x86/kvm/kvm.ko": mismatched,
              "fs/xfs/xfs.ko": stripped,
            },
          }),
        ],
        "bookworm-updates": [],
        "bookworm-security": [],
      },
    });
    server = await startStaticServer(join(work, "mirror"));
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('keeps the kernel and its good modules under "all", recording each bad module and why in `failed`', async () => {
    const { stderr, manifest } = await run("all", "all");
    expect(stderr).toMatch(/summary: 1 ok, 0 failed/);
    const modules = manifest.kernels[`debian/12/x86_64/${kernel}`]!.modules!;
    expect(Object.keys(modules.files)).toEqual(["nf_conntrack"]);
    expect(modules.files.nf_conntrack!.ownBtf?.layouts).toBe(1);
    expect(Object.keys(modules.failed ?? {})).toEqual(["kvm", "xfs"]);
    expect(modules.failed!.kvm).toMatch(/module kvm: struct layouts differ from its own BTF .*nf_conn/);
    expect(modules.failed!.xfs).toMatch(/module xfs has no DWARF/);
    const listing = await execa("tar", ["-tJf", join(work, "all", modules.tarball!.path)]);
    expect(listing.stdout.split("\n")).toEqual(["nf_conntrack.btf"]);
  });

  it("fails the kernel when a module the source names fails, saying which and why", async () => {
    const { stderr, manifest } = await run("named", ["nf_conntrack", "xfs"]);
    expect(stderr).toMatch(/summary: 0 ok, 1 failed/);
    const entry = manifest.kernels[`debian/12/x86_64/${kernel}`]!;
    expect(entry.status).toBe("failed");
    expect(entry.reason).toMatch(/module xfs has no DWARF/);
  });
});

function digestPart(file: { sha256: string; size: number }): { sha256: string; size: number } {
  return { sha256: file.sha256, size: file.size };
}

function digestOf(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
