// End to end, with a source's `modules`: `btfmill run` against a Debian-format mirror on 127.0.0.1
// whose debug packages carry module debug files after the vmlinux; each selected module becomes
// split BTF against the kernel's BTF, packed beside the kernel's tarball and recorded in the manifest.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import type { Manifest } from "../../archive/manifest.ts";
import { readManifest } from "../../archive/state.ts";
import { publishSite } from "../../site/publish.ts";
import { buildAptMirror, createSigningKey, dbgPackage, type AptMirror } from "../fixtures/apt-mirror.ts";
import { makeModule, makeVmlinux } from "../fixtures/vmlinux.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

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

  it("compares a module that carries its own .BTF with it, layout by layout, and records it", () => {
    expect(entry("6.1.0-1-cloud-amd64").modules!.files.nf_conntrack!.ownBtf).toBeUndefined();
    const own = entry("6.1.0-2-cloud-amd64").modules!.files.nf_conntrack!.ownBtf;
    expect(own?.layouts).toBeGreaterThan(4);
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

function digestOf(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
