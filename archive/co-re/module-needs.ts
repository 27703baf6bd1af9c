// Which of a kernel's modules BPF objects need: a relocation that does not resolve against the
// kernel's own BTF, whose root type a module holds by name, and that resolves once that module is
// joined to the kernel's BTF. Only such modules are merged into a minified file, so a kernel whose
// objects need only vmlinux types gets the same file as without modules, and a merged file holds
// as few modules (and as few same-named candidates from different modules) as can be.
import { joinSplitBtf, splitTypeNames } from "../btf/split.ts";
import { openBtf } from "../btf/lazy.ts";
import { btfTypeById, type BtfSpec } from "../btf/types.ts";
import type { CoreRelocation } from "./bpf-object.ts";
import type { CoverageEntry, CoverageObject } from "./coverage.ts";
import { resolveRelocation } from "./resolve.ts";
import { essentialName } from "./type-names.ts";

export interface KernelModules {
  /** The kernel's BTF: every module's base. */
  base: Uint8Array;
  /** By lsmod name: each module's split BTF against `base`. */
  modules: ReadonlyMap<string, Uint8Array>;
}

export interface ModuleFinder {
  /**
   * For each of `object`'s relocations that `coverage` (its coverage on the kernel's own BTF)
   * lists as missing: the modules, by name, whose types resolve it. Relocations no module
   * resolves are left out.
   */
  modulesResolving(object: CoverageObject, coverage: MissedOn): string[][];
}

/** The part of an object's coverage (computeCoverage, or as the manifest stores it) that says which relocations missed. */
interface MissedOn {
  guarded: readonly MissedEntry[];
  unresolved: readonly MissedEntry[];
}

type MissedEntry = Pick<CoverageEntry, "section" | "index" | "status">;

/** When a kernel with modules is minified: looks modules up by type name, each opened once. */
export function newModuleFinder(kernel: KernelModules): ModuleFinder {
  let byName: Map<string, string[]> | undefined;
  const joined = new Map<string, BtfSpec>();
  const holders = (name: string): string[] => {
    if (byName === undefined) {
      byName = new Map();
      for (const [module, split] of [...kernel.modules].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        for (const typeName of new Set([...splitTypeNames(kernel.base, split)].map(essentialName))) {
          const list = byName.get(typeName);
          if (list === undefined) byName.set(typeName, [module]);
          else list.push(module);
        }
      }
    }
    return byName.get(name) ?? [];
  };
  const specOf = (module: string): BtfSpec => {
    let spec = joined.get(module);
    if (spec === undefined) {
      spec = openBtf(joinSplitBtf(kernel.base, kernel.modules.get(module)!));
      joined.set(module, spec);
    }
    return spec;
  };
  return {
    modulesResolving(object, coverage) {
      const missing = new Set(
        [...coverage.guarded, ...coverage.unresolved]
          .filter((entry) => entry.status === "missing")
          .map((entry) => `${entry.section}\0${entry.index}`),
      );
      const needs: string[][] = [];
      for (const relocation of object.relocations) {
        if (!missing.has(`${relocation.section}\0${relocation.index}`)) continue;
        const resolving = holders(rootName(object.btf, relocation)).filter(
          (module) => resolveRelocation(specOf(module), object.btf, relocation).status === "resolved",
        );
        if (resolving.length > 0) needs.push(resolving);
      }
      return needs;
    },
  };
}

function rootName(local: BtfSpec, relocation: CoreRelocation): string {
  return essentialName(btfTypeById(local, relocation.typeId)?.name ?? "");
}

/**
 * When a set's objects' needs are known (each the modules that resolve one relocation): the
 * modules to merge, sorted by name. Greedy: the module that resolves the most relocations still
 * open first, the first name on a tie, until every relocation has one; so a type several modules
 * hold (a header's struct copied into each) comes from a module merged anyway.
 */
export function chooseModules(needs: readonly (readonly string[])[]): string[] {
  let open = [...needs];
  const chosen: string[] = [];
  while (open.length > 0) {
    const counts = new Map<string, number>();
    for (const need of open) for (const module of need) counts.set(module, (counts.get(module) ?? 0) + 1);
    const [best] = [...counts].sort(([a, n], [b, m]) => m - n || (a < b ? -1 : a > b ? 1 : 0))[0]!;
    chosen.push(best);
    open = open.filter((need) => !need.includes(best));
  }
  return chosen.sort();
}
