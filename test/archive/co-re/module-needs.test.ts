// Which modules objects need: only those whose types resolve a relocation that misses in the
// kernel's own BTF, one module per relocation when several hold the same type, and the module
// each relocation resolved in, as coverage on the merged BTF reports it.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeSplitBtf, openBtf } from "../../../archive/btf/index.ts";
import { loadBpfObject, type BpfObject } from "../../../archive/co-re/bpf-object.ts";
import { computeCoverage } from "../../../archive/co-re/coverage.ts";
import { chooseModules, newModuleFinder } from "../../../archive/co-re/module-needs.ts";
import { makeCoreObject } from "../../fixtures/bpf-objects.ts";
import { makeModule, makeVmlinux } from "../../fixtures/vmlinux.ts";

let dir: string;
let base: Buffer;
const modules = new Map<string, Buffer>();
const objects = new Map<string, BpfObject>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-module-needs-"));
  const basePath = join(dir, "vmlinux.btf");
  await execa("pahole", [`--btf_encode_detached=${basePath}`, await makeVmlinux(join(dir, "vmlinux"))]);
  base = await readFile(basePath);
  const kos = {
    nf_conntrack: await makeModule(join(dir, "nf_conntrack.ko")),
    // Another module built from the same source: it holds its own copy of struct nf_conn.
    nf_nat: await makeModule(join(dir, "nf_nat.ko")),
    xfs: await makeModule(join(dir, "xfs.ko"), { source: "xfs" }),
  };
  for (const [name, ko] of Object.entries(kos)) {
    const out = join(dir, `${name}.btf`);
    await execa("pahole", [`--btf_base=${basePath}`, `--btf_encode_detached=${out}`, ko]);
    modules.set(name, await readFile(out));
  }
  for (const name of ["tcprtt", "conntrack", "xfs"] as const)
    objects.set(name, await loadBpfObject(await makeCoreObject(dir, name)));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const asCoverageObject = (name: string) => ({ name, ...objects.get(name)! });

describe("newModuleFinder", () => {
  it("looks at no module for an object whose relocations all resolve in vmlinux", () => {
    const object = asCoverageObject("tcprtt");
    const coverage = computeCoverage(openBtf(base), object);
    expect(newModuleFinder({ base, modules }).modulesResolving(object, coverage)).toEqual([]);
  });

  it("names, for each relocation that misses in vmlinux, every module that resolves it, and no module for the ones that resolve", () => {
    const object = asCoverageObject("conntrack");
    const coverage = computeCoverage(openBtf(base), object);
    const needs = newModuleFinder({ base, modules }).modulesResolving(object, coverage);
    const missing = coverage.unresolved.length + coverage.guarded.length;
    expect(missing).toBeGreaterThan(0);
    expect(needs).toHaveLength(missing);
    for (const need of needs) expect(need).toEqual(["nf_conntrack", "nf_nat"]);
  });
});

describe("chooseModules", () => {
  it("takes one module for a type several modules hold, the first by name", () => {
    expect(chooseModules([["nf_conntrack", "nf_nat"]])).toEqual(["nf_conntrack"]);
  });

  it("prefers a module that resolves more relocations, so a shared type comes from a module merged anyway", () => {
    expect(chooseModules([["a_copy", "nf_nat"], ["nf_nat"]])).toEqual(["nf_nat"]);
    expect(chooseModules([["nf_conntrack"], ["xfs"], ["nf_conntrack", "xfs"]])).toEqual(["nf_conntrack", "xfs"]);
  });

  it("chooses nothing when nothing is needed", () => {
    expect(chooseModules([])).toEqual([]);
  });
});

describe("coverage on a merged BTF", () => {
  it("resolves every relocation once the chosen modules are merged and names the module each resolved in", () => {
    const finder = newModuleFinder({ base, modules });
    const needs = ["conntrack", "xfs"].flatMap((name) => {
      const object = asCoverageObject(name);
      return finder.modulesResolving(object, computeCoverage(openBtf(base), object));
    });
    const chosen = chooseModules(needs);
    expect(chosen).toEqual(["nf_conntrack", "xfs"]);
    const merged = mergeSplitBtf(
      base,
      chosen.map((name) => ({ name, bytes: modules.get(name)! })),
    );
    const moduleOf = (id: number) => merged.parts.find((part) => id >= part.firstId && id <= part.lastId)?.name;
    const spec = openBtf(merged.bytes);
    for (const [name, module] of [
      ["conntrack", "nf_conntrack"],
      ["xfs", "xfs"],
    ] as const) {
      const coverage = computeCoverage(spec, asCoverageObject(name), { moduleOf });
      expect(coverage.unresolved).toEqual([]);
      expect(coverage.resolved).toBe(coverage.total);
      expect(new Set(coverage.resolvedInModules!.map((hit) => hit.module))).toEqual(new Set([module]));
    }
    // Without moduleOf, or with no module type reached, the record is what it was before modules.
    expect(computeCoverage(spec, asCoverageObject("tcprtt"), { moduleOf })).toEqual(
      computeCoverage(openBtf(base), asCoverageObject("tcprtt")),
    );
  });

  it("finds two modules' identical copies of a struct not ambiguous, as libbpf does, and bpftool keeps only the first", async () => {
    const merged = mergeSplitBtf(base, [
      { name: "nf_conntrack", bytes: modules.get("nf_conntrack")! },
      { name: "nf_nat", bytes: modules.get("nf_nat")! },
    ]);
    const moduleOf = (id: number) => merged.parts.find((part) => id >= part.firstId && id <= part.lastId)?.name;
    const coverage = computeCoverage(openBtf(merged.bytes), asCoverageObject("conntrack"), { moduleOf });
    expect(coverage.resolved).toBe(coverage.total);
    expect(new Set(coverage.resolvedInModules!.map((hit) => hit.module))).toEqual(new Set(["nf_conntrack"]));
    const mergedPath = join(dir, "both.btf");
    const minified = join(dir, "both.min.btf");
    await writeFile(mergedPath, merged.bytes);
    await execa("bpftool", ["gen", "min_core_btf", mergedPath, minified, join(dir, "conntrack.o")]);
    const dump = (await execa("bpftool", ["btf", "dump", "file", minified])).stdout;
    expect(dump.match(/STRUCT 'nf_conn' /g)).toHaveLength(1);
  });
});
