// End to end, registered objects that read module types on a kernel with modules selected:
// `btfmill run` merges into each set's minified file the modules its objects need (and only
// those), so one standalone file resolves them; bpftool and cilium/ebpf read it; coverage names
// the module each relocation resolved in; a set that needs only vmlinux types gets the bytes it
// gets without modules; a changed module set minifies again.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishSite } from "../../site/publish.ts";
import { dbgPackage, type AptMirror } from "../fixtures/apt-mirror.ts";
import { serveBookwormMirror } from "../fixtures/bookworm-mirror.ts";
import { makeCoreObject } from "../fixtures/bpf-objects.ts";
import { makeModule, makeVmlinux } from "../fixtures/vmlinux.ts";
import { checkArchiveMinified, ciliumChecker, runCiliumCheck } from "../helpers/cilium-check.ts";
import { readManifest } from "../../archive/state.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";
import { mergeSplitBtf } from "../../archive/btf/merge.ts";
import type { GenIndex } from "../../site/gen.ts";
import { neededModules } from "../../site/gen-modules.ts";
import { openBtf } from "../../archive/btf/lazy.ts";
import { computeCoverage, loadBpfObject } from "../../archive/co-re/index.ts";

const kernel = "6.1.0-1-cloud-amd64";
const key = `debian/12/x86_64/${kernel}`;

describe("btfmill run with objects that read module types", () => {
  let work: string;
  let mirror: AptMirror;
  let server: StaticServer;
  let configPath: string;
  let objects: Record<"tcprtt" | "conntrack" | "xfs", string>;
  let first: Awaited<ReturnType<typeof runBtfmill>>;
  const archive = () => join(work, "archive");
  const manifest = () => readManifest(archive());
  const writeConfig = (modules: string[]) =>
    writeFile(
      configPath,
      JSON.stringify({
        archive: archive(),
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
        objects: { net: [objects.tcprtt], ct: [objects.conntrack], fs: [objects.xfs] },
      }),
    );

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-module-minify-"));
    await mkdir(join(work, "objects"));
    objects = {
      tcprtt: await makeCoreObject(join(work, "objects"), "tcprtt"),
      conntrack: await makeCoreObject(join(work, "objects"), "conntrack"),
      xfs: await makeCoreObject(join(work, "objects"), "xfs"),
    };
    ({ mirror, server } = await serveBookwormMirror(work, [
      dbgPackage({
        kernel,
        version: "6.1.1-1",
        vmlinux: await makeVmlinux(join(work, "vmlinux.o")),
        modules: {
          "net/netfilter/nf_conntrack.ko": await makeModule(join(work, "nf_conntrack.ko")),
          "fs/xfs/xfs.ko": await makeModule(join(work, "xfs.ko"), { source: "xfs" }),
        },
      }),
    ]));
    configPath = join(work, "btfmill.json");
    await writeConfig(["nf_conntrack", "xfs"]);
    first = await runBtfmill(["run", "--config", configPath]);
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("merges into each set's file only the modules its objects need, and records them with the modules tarball's digest", async () => {
    expect(first.stderr).toContain("summary: 1 ok, 0 failed, 0 skipped, 0 unchanged, 4 minified");
    const entry = (await manifest()).kernels[key]!;
    const minified = entry.minified!;
    const merged = Object.fromEntries(Object.entries(minified).map(([set, record]) => [set, record.modules]));
    const tarball = entry.modules!.tarball!.sha256;
    expect(merged).toEqual({
      all: { tarball, merged: ["nf_conntrack", "xfs"] },
      ct: { tarball, merged: ["nf_conntrack"] },
      fs: { tarball, merged: ["xfs"] },
      net: { tarball, merged: [] },
    });
    for (const record of Object.values(minified)) expect(record.error).toBeUndefined();
  });

  it("resolves every relocation of the module readers and names the module each resolved in; vmlinux ones name none", async () => {
    const { all } = (await manifest()).kernels[key]!.minified!;
    const coverage = (name: string) => all!.coverage.find((object) => object.object === name)!;
    for (const name of ["conntrack.o", "xfs.o", "tcprtt.o"]) {
      expect(coverage(name).unresolved).toEqual([]);
      expect(coverage(name).resolved).toBe(coverage(name).total);
    }
    const where = (name: string) => coverage(name).resolvedInModules?.map((hit) => [hit.name, hit.module]);
    expect(where("conntrack.o")).toEqual(
      expect.arrayContaining([
        ["struct nf_conn::timeout", "nf_conntrack"],
        ["struct nf_conn::owner", "nf_conntrack"],
      ]),
    );
    // `owner->sk_rcvbuf` is read through the kernel's struct sock: resolved, in vmlinux.
    expect(where("conntrack.o")!.some(([name]) => name!.startsWith("struct sock"))).toBe(false);
    expect(coverage("conntrack.o").resolved).toBeGreaterThan(where("conntrack.o")!.length);
    expect(where("xfs.o")).toContainEqual(["enum xfs_dinode_fmt::XFS_DINODE_FMT_BTREE", "xfs"]);
    expect(coverage("tcprtt.o").resolvedInModules).toBeUndefined();
  });

  it("btfmill coverage says how many relocations of each object resolved in which module", async () => {
    const table = await runBtfmill(["coverage", "--config", configPath, "--set", "all"]);
    expect(table.exitCode).toBe(0);
    const { all } = (await manifest()).kernels[key]!.minified!;
    const conntrack = all!.coverage.find((object) => object.object === "conntrack.o")!;
    const lines = table.stdout.split("\n");
    expect(lines).toContain(
      `ok     ${key}  conntrack.o: ${conntrack.total}/${conntrack.total} resolve, ${conntrack.resolvedInModules!.length} in nf_conntrack`,
    );
    expect(lines).toContain(`ok     ${key}  tcprtt.o: 1/1 resolve`);
  });

  it("gives bpftool one standalone file per set that holds the module's struct beside the kernel's", async () => {
    const { minified } = (await manifest()).kernels[key]!;
    const dump = async (set: string) =>
      (await execa("bpftool", ["btf", "dump", "file", join(archive(), minified![set]!.file!.path)])).stdout;
    const all = await dump("all");
    expect(all).toMatch(/STRUCT 'nf_conn' size=48/);
    expect(all).toMatch(/STRUCT 'xfs_inode' /);
    expect(all).toMatch(/STRUCT 'tcp_sock' /);
    const ct = await dump("ct");
    expect(ct).toMatch(/STRUCT 'nf_conn' /);
    expect(ct).not.toMatch(/xfs_inode/);
  });

  it("gives the set that needs only vmlinux types the bytes bpftool makes from the kernel's BTF alone", async () => {
    const entry = (await manifest()).kernels[key]!;
    const full = join(work, "full.btf");
    await writeFile(
      full,
      (await execa("tar", ["-xJOf", join(archive(), entry.tarball!.path)], { encoding: "buffer" })).stdout,
    );
    const alone = join(work, "net-alone.btf");
    await execa("bpftool", ["gen", "min_core_btf", full, alone, objects.tcprtt]);
    expect((await readFile(join(archive(), entry.minified!.net!.file!.path))).equals(await readFile(alone))).toBe(true);
  });

  it("every file gives cilium/ebpf the same CO-RE fixups as the kernel's BTF with those modules merged", async (context) => {
    const checker = await ciliumChecker();
    context.skip("skip" in checker, "skip" in checker ? checker.skip : "");
    const binary = "binary" in checker ? checker.binary : "";
    const checked = await checkArchiveMinified(binary, archive(), await manifest(), (name) =>
      join(work, "objects", name),
    );
    expect(checked).toEqual({ files: 4, failures: [] });
  });

  it("publishes the merged modules per set and, per object, how many relocations resolved in each module, as the published JSON Schema allows", async () => {
    const { manifest: cdn } = await publishSite({ archive: archive(), out: join(work, "site"), full: false });
    const published = cdn.kernels.find((k) => k.kernel === kernel)!;
    expect(published.coverage.all!.modules).toEqual(["nf_conntrack", "xfs"]);
    expect(published.coverage.net!.modules).toBeUndefined();
    const hits = (await manifest()).kernels[key]!.minified!.all!.coverage.find((o) => o.object === "conntrack.o")!;
    const object = published.coverage.all!.objects.find((o) => o.object === "conntrack.o")!;
    expect(object.resolvedInModules).toEqual({ nf_conntrack: hits.resolvedInModules!.length });
    expect(published.coverage.all!.objects.find((o) => o.object === "tcprtt.o")!.resolvedInModules).toBeUndefined();
    const schema = JSON.parse(await readFile(join(work, "site", "manifest.schema.json"), "utf8"));
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
    const onDisk = JSON.parse(await readFile(join(work, "site", "manifest.json"), "utf8"));
    expect(validate(onDisk), JSON.stringify(validate.errors)).toBe(true);
    expect(await readFile(join(work, "site", published.files.root!.path))).toEqual(
      await readFile(join(archive(), (await manifest()).kernels[key]!.minified!.all!.file!.path)),
    );
  });

  // What `gen` must match: the kernel's full BTF alone, and with nf_conntrack merged as the stage merges it.
  const fullAndMerged = async () => {
    const entry = (await manifest()).kernels[key]!;
    const full = (await execa("tar", ["-xJOf", join(archive(), entry.tarball!.path)], { encoding: "buffer" })).stdout;
    const module = (
      await execa("tar", ["-xJOf", join(archive(), entry.modules!.tarball!.path), "nf_conntrack.btf"], {
        encoding: "buffer",
      })
    ).stdout;
    await writeFile(join(work, "gen-full.btf"), full);
    await writeFile(join(work, "gen-merged.btf"), mergeSplitBtf(full, [{ name: "nf_conntrack", bytes: module }]).bytes);
    return { full: join(work, "gen-full.btf"), merged: join(work, "gen-merged.btf") };
  };
  const ciliumAgree = async (
    context: { skip: (skip: boolean, note: string) => void },
    against: string,
    file: string,
  ) => {
    const checker = await ciliumChecker();
    context.skip("skip" in checker, "skip" in checker ? checker.skip : "");
    const report = await runCiliumCheck("binary" in checker ? checker.binary : "", against, file, [objects.conntrack]);
    expect(report.exitCode, JSON.stringify(report)).toBe(0);
    expect(report.relocations).toBeGreaterThan(0);
  };

  it("gen from the archive merges the module the object reads, names it in its coverage, and gives vmlinux-only objects the bytes of the kernel's BTF alone", async (context) => {
    const out = join(work, "gen-archive");
    const cache = join(work, "gen-archive-cache");
    const ran = await runBtfmill([
      "gen",
      "--objects",
      objects.conntrack,
      "--from",
      archive(),
      "--out",
      out,
      "--cache",
      cache,
    ]);
    expect(ran.exitCode, ran.stderr).toBe(0);
    const index = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as GenIndex;
    expect(index.mergedModules).toEqual({ [key]: ["nf_conntrack"] });
    const [coverage] = index.coverage[key]!;
    expect(coverage!.resolved).toBe(coverage!.total);
    const inModule = coverage!.resolvedInModules!.length;
    expect(inModule).toBeGreaterThan(0);
    expect(ran.stdout.split("\n")).toContain(
      `ok     ${key}  conntrack.o: ${coverage!.total}/${coverage!.total} resolve, 0 guarded, ${inModule} in nf_conntrack`,
    );
    const file = join(out, `${key}.btf`);
    expect((await execa("bpftool", ["btf", "dump", "file", file])).stdout).toMatch(/STRUCT 'nf_conn' size=48/);
    const { full, merged } = await fullAndMerged();
    const alone = join(work, "gen-net-alone.btf");
    await execa("bpftool", ["gen", "min_core_btf", full, alone, objects.tcprtt]);
    const net = join(work, "gen-archive-net");
    const vmlinuxOnly = await runBtfmill([
      "gen",
      "--objects",
      objects.tcprtt,
      "--from",
      archive(),
      "--out",
      net,
      "--cache",
      cache,
    ]);
    expect(vmlinuxOnly.exitCode, vmlinuxOnly.stderr).toBe(0);
    expect((await readFile(join(net, `${key}.btf`))).equals(await readFile(alone))).toBe(true);
    expect((JSON.parse(await readFile(join(net, "index.json"), "utf8")) as GenIndex).mergedModules).toBeUndefined();
    await ciliumAgree(context, merged, file);
  });

  it("gen from a site published with --full fetches only the module the object reads, and its file resolves the module's struct", async (context) => {
    const site = join(work, "gen-site");
    await publishSite({ archive: archive(), out: site, full: true });
    const served = await startStaticServer(site);
    try {
      const out = join(work, "gen-from-site");
      const ran = await runBtfmill([
        "gen",
        "--objects",
        objects.conntrack,
        "--from",
        served.url,
        "--out",
        out,
        "--cache",
        join(work, "gen-site-cache"),
        "--json",
      ]);
      expect(ran.exitCode, ran.stderr).toBe(0);
      const report = JSON.parse(ran.stdout) as {
        kernels: Record<string, { modules?: string[]; objects: { resolvedInModules?: { module: string }[] }[] }>;
      };
      expect(report.kernels[key]!.modules).toEqual(["nf_conntrack"]);
      expect(new Set(report.kernels[key]!.objects[0]!.resolvedInModules!.map((hit) => hit.module))).toEqual(
        new Set(["nf_conntrack"]),
      );
      const moduleFiles = served.requests.filter((request) => request.path.includes(".modules"));
      expect(moduleFiles.map((request) => request.path)).toEqual([`/full/${key}.modules/nf_conntrack.btf`]);
      const file = join(out, `${key}.btf`);
      expect(
        (await readFile(file)).equals(await readFile(join(work, "gen-archive", `${key}.btf`))),
        "the same file as from the archive",
      ).toBe(true);
      await ciliumAgree(context, (await fullAndMerged()).merged, file);
    } finally {
      await served.close();
    }
  });

  it("gen looks in every module only when a type the kernel lacks is in none whose name begins like it", async () => {
    const entry = (await manifest()).kernels[key]!;
    const tarball = join(archive(), entry.modules!.tarball!.path);
    const base = await readFile((await fullAndMerged()).full);
    // nf_conntrack under a name that does not begin like `nf_conn`: only the second round finds it.
    const members: Record<string, string> = { ct_renamed: "nf_conntrack.btf", xfs: "xfs.btf" };
    const asked: string[][] = [];
    const modules = {
      names: Object.keys(members),
      digest: "sha256:test",
      async fetch(names: readonly string[]) {
        asked.push([...names]);
        const paths: Record<string, string> = {};
        for (const name of names) {
          paths[name] = join(work, `renamed-${name}.btf`);
          const member = await execa("tar", ["-xJOf", tarball, members[name]!], { encoding: "buffer" });
          await writeFile(paths[name], member.stdout);
        }
        return paths;
      },
    };
    const object = await loadBpfObject(objects.conntrack);
    const own = { name: "conntrack.o", btf: object.btf, relocations: object.relocations };
    const kernel = openBtf(base);
    const needed = await neededModules(base, kernel, modules, [own], [computeCoverage(kernel, own)]);
    expect(asked).toEqual([["ct_renamed", "xfs"]]);
    expect(needed!.merged).toEqual(["ct_renamed"]);
    const coverage = computeCoverage(needed!.kernel.spec, own, { moduleOf: needed!.kernel.moduleOf });
    expect(coverage.resolved).toBe(coverage.total);
    expect(new Set(coverage.resolvedInModules!.map((hit) => hit.module))).toEqual(new Set(["ct_renamed"]));
  });

  it("minifies nothing again while objects and modules stay, and again when the module set changes", async () => {
    const idle = await runBtfmill(["run", "--config", configPath]);
    expect(idle.stderr).toMatch(/^summary: 0 ok, 0 failed, 0 skipped, 1 unchanged$/m);
    await writeConfig(["nf_conntrack"]);
    const fewer = await runBtfmill(["run", "--config", configPath]);
    expect(fewer.stderr).toContain("summary: 1 ok, 0 failed, 0 skipped, 0 unchanged, 4 minified");
    const entry = (await manifest()).kernels[key]!;
    expect(entry.minified!.all!.modules!.merged).toEqual(["nf_conntrack"]);
    expect(entry.minified!.all!.modules!.tarball).toBe(entry.modules!.tarball!.sha256);
    const xfs = entry.minified!.fs!.coverage.find((object) => object.object === "xfs.o")!;
    expect(xfs.unresolved.map((miss) => miss.why)).toContain("kernel has no struct xfs_inode");
  });
});
