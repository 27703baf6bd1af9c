// Relocation coverage of one BPF object on one kernel: which relocations resolve, which are
// guarded misses the program checks at run time, and which would break the program, each named
// the way a developer reads it. Sorted, so the same inputs give the same record.
import type { BtfSpec } from "../btf/types.ts";
import type { CoreRelocation } from "./bpf-object.ts";
import { findGuard, type GuardRef } from "./guards.ts";
import { ReloKind, type ReloKindName } from "./relo-kinds.ts";
import { resolveRelocation, type RelocationOutcome } from "./resolve.ts";

export interface CoverageObject {
  name: string;
  btf: BtfSpec;
  relocations: CoreRelocation[];
}

export interface CoverageEntry {
  section: string;
  /** The ELF function (program or subprogram) the relocation is in. */
  program: string;
  /** libbpf's `relo #N` within the section. */
  index: number;
  kind: ReloKindName;
  name: string;
  /** Ambiguous: several kernel types match with different results, and libbpf refuses to load. */
  status: "missing" | "ambiguous";
  why: string;
  /** A read the program never reaches here: the check of its own that closes the branch (guards.ts). */
  guard?: GuardRef;
}

/** A relocation that resolved in a module's types merged into the kernel's BTF, not in the kernel's own. */
export interface ModuleResolution {
  section: string;
  program: string;
  index: number;
  kind: ReloKindName;
  name: string;
  /** lsmod name of the module whose type the relocation resolved to. */
  module: string;
}

export interface Coverage {
  object: string;
  total: number;
  resolved: number;
  /**
   * `*_EXISTS` / TYPE_MATCHES relocations that do not match (the program sees 0 and takes its
   * fallback), and failing reads such a check keeps the program from running, each with its `guard`.
   */
  guarded: CoverageEntry[];
  /** Missing or ambiguous: the program fails to load or hits a poisoned instruction. */
  unresolved: CoverageEntry[];
  /** Resolved relocations whose target is a module's type, when modules were merged; the other resolved ones are the kernel's own. */
  resolvedInModules?: ModuleResolution[];
}

export interface CoverageOptions {
  /** When `kernel` holds modules merged after its own types: the module holding type `id`, undefined for the kernel's own. */
  moduleOf?: (id: number) => string | undefined;
}

/** When a kernel's BTF is published or an object registered: the object's coverage on that kernel. */
export function computeCoverage(kernel: BtfSpec, object: CoverageObject, options: CoverageOptions = {}): Coverage {
  const guarded: CoverageEntry[] = [];
  const unresolved: CoverageEntry[] = [];
  const inModules: ModuleResolution[] = [];
  let resolved = 0;
  const outcomes = object.relocations.map((relocation) => resolveRelocation(kernel, object.btf, relocation));
  const byProgram = Map.groupBy(outcomes, (outcome) => `${outcome.relocation.section}\0${outcome.relocation.program}`);
  for (const outcome of outcomes) {
    if (outcome.status === "resolved") {
      resolved++;
      const module =
        outcome.relocation.kind === ReloKind.TypeIdLocal ? undefined : options.moduleOf?.(outcome.targetTypeId);
      if (module !== undefined) {
        const { section, program, index, kindName } = outcome.relocation;
        inModules.push({ section, program, index, kind: kindName, name: outcome.name, module });
      }
      continue;
    }
    if (outcome.guarded && outcome.status === "missing") {
      guarded.push(entryOf(outcome));
      continue;
    }
    const program = byProgram.get(`${outcome.relocation.section}\0${outcome.relocation.program}`)!;
    const guard = findGuard(object.btf, outcome, [...program].sort(byIndex));
    if (guard === undefined) unresolved.push(entryOf(outcome));
    else guarded.push({ ...entryOf(outcome), guard });
  }
  return {
    object: object.name,
    total: object.relocations.length,
    resolved,
    guarded: guarded.sort(compareEntries),
    unresolved: unresolved.sort(compareEntries),
    ...(inModules.length === 0 ? {} : { resolvedInModules: inModules.sort(compareEntries) }),
  };
}

function entryOf(outcome: Exclude<RelocationOutcome, { status: "resolved" }>): CoverageEntry {
  const { section, program, index, kindName } = outcome.relocation;
  return { section, program, index, kind: kindName, name: outcome.name, status: outcome.status, why: outcome.why };
}

function byIndex(a: RelocationOutcome, b: RelocationOutcome): number {
  return a.relocation.index - b.relocation.index;
}

function compareEntries(a: { section: string; index: number }, b: { section: string; index: number }): number {
  return a.section < b.section ? -1 : a.section > b.section ? 1 : a.index - b.index;
}
