// When `gen`'s objects read types a kernel's own BTF lacks: the kernel's modules those types are
// in, merged into the BTF bpftool minifies, chosen as the minify stage chooses them
// (newModuleFinder, chooseModules, mergeModules), so one standalone file resolves them.
// A source offers a module's split BTF only as a whole file, and saying which module holds a type
// means reading it, so modules are fetched in two rounds instead of all of them (Debian's kernels
// carry 3,000-4,000): first those whose names match the missing types' names (`nf_conn` ->
// `nf_conntrack*`, `xfs_inode` -> `xfs`); then, only when a relocation still misses and its
// root type is not in the kernel's BTF at all, every other module. A miss on a type the kernel
// has (a field of a newer kernel, checked by the program) looks no further than the first round.
import { readFile } from "node:fs/promises";
import { btfTypeById, type BtfSpec } from "../archive/btf/types.ts";
import { findCandidates } from "../archive/co-re/candidates.ts";
import {
  chooseModules,
  mergeModules,
  newModuleFinder,
  type Coverage,
  type CoverageObject,
  type MergedKernel,
} from "../archive/co-re/index.ts";
import { essentialName } from "../archive/co-re/type-names.ts";
import type { GenModules } from "./gen-sources.ts";

export interface NeededModules {
  /** lsmod names, sorted. */
  merged: string[];
  kernel: MergedKernel;
}

/**
 * When `coverage` (on the kernel's own BTF, `kernel` parsed from `base`) lists misses: the modules
 * that resolve them, fetched from `modules` as few as can be, merged with `base`; undefined when
 * no module resolves any.
 */
export async function neededModules(
  base: Uint8Array,
  kernel: BtfSpec,
  modules: GenModules,
  objects: readonly CoverageObject[],
  coverage: readonly Coverage[],
  signal?: AbortSignal,
): Promise<NeededModules | undefined> {
  const misses = objects.flatMap((object, index) => {
    const { guarded, unresolved } = coverage[index]!;
    return [...guarded, ...unresolved]
      .filter((entry) => entry.status === "missing")
      .map((entry) => {
        const relocation = object.relocations.find((r) => r.section === entry.section && r.index === entry.index)!;
        return { object, entry, root: btfTypeById(object.btf, relocation.typeId)! };
      });
  });
  if (misses.length === 0) return undefined;
  const splits = new Map<string, Uint8Array>();
  const fetchSplits = async (names: readonly string[]) => {
    const missing = names.filter((name) => !splits.has(name));
    if (missing.length === 0) return;
    const paths = await modules.fetch(missing, signal);
    for (const [name, path] of Object.entries(paths)) splits.set(name, await readFile(path));
  };
  const needsOfEach = () => {
    const finder = newModuleFinder({ base, modules: splits });
    return misses.map(({ object, entry }) => finder.modulesResolving(object, { guarded: [], unresolved: [entry] }));
  };
  await fetchSplits(
    modulesNamedLike(
      modules.names,
      misses.map(({ root }) => essentialName(root.name)),
    ),
  );
  let needs = needsOfEach();
  const absent = misses.some(
    ({ root }, index) => needs[index]!.length === 0 && findCandidates(kernel, root).length === 0,
  );
  if (absent && splits.size < modules.names.length) {
    await fetchSplits(modules.names);
    needs = needsOfEach();
  }
  const merged = chooseModules(needs.flat());
  if (merged.length === 0) return undefined;
  return { merged, kernel: mergeModules(base, splits, merged) };
}

/**
 * Modules whose lsmod names share their first `_`-separated word with a type's name and, among
 * those, the most leading words (a word one begins the other with counts half): `nf_conn` picks
 * `nf_conntrack` and `nf_conntrack_ftp` over `nf_nat`; `kvm_vcpu` all of `kvm`, `kvm_amd`,
 * `kvm_intel`. Sorted.
 */
export function modulesNamedLike(modules: readonly string[], typeNames: readonly string[]): string[] {
  const picked = new Set<string>();
  for (const type of new Set(typeNames)) {
    const words = type.split("_");
    if (words[0] === "") continue;
    const sameWord = modules.filter((module) => module.split("_")[0] === words[0]);
    const shared = sameWord.map((module) => sharedWords(module.split("_"), words));
    const most = Math.max(0, ...shared);
    sameWord.forEach((module, index) => {
      if (shared[index] === most) picked.add(module);
    });
  }
  return [...picked].sort();
}

function sharedWords(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  const [x, y] = [a[n], b[n]];
  return x !== undefined && y !== undefined && x !== "" && y !== "" && (x.startsWith(y) || y.startsWith(x))
    ? n + 0.5
    : n;
}
