// Resolves one CO-RE relocation against a kernel BTF the way libbpf's bpf_core_calc_relo_insn
// decides it: every candidate is tried; none matching leaves the relocation missing (a guarded
// kind then reads 0, any other poisons the instruction); several matching with different results
// is ambiguous, which fails the whole load.
import { btfTypeById, type BtfSpec } from "../btf/types.ts";
import type { CoreRelocation } from "./bpf-object.ts";
import { findCandidates } from "./candidates.ts";
import { parseLocalSpec } from "./local-spec.ts";
import { ReloKind, isGuarded } from "./relo-kinds.ts";
import { relocationValue } from "./relo-value.ts";
import { matchSpec, type TargetSpec } from "./spec-match.ts";
import { essentialName, typeDisplayName } from "./type-names.ts";

interface OutcomeBase {
  relocation: CoreRelocation;
  /** `struct tcp_sock::srtt_us`. */
  name: string;
  /** The kind is tested by the program at run time (`*_EXISTS`, TYPE_MATCHES). */
  guarded: boolean;
}

export type RelocationOutcome =
  | (OutcomeBase & { status: "resolved"; value: number | bigint; targetTypeId: number })
  | (OutcomeBase & { status: "missing" | "ambiguous"; why: string });

/** When coverage is computed: the fate of `relocation` from object types `local` on `kernel`. */
export function resolveRelocation(kernel: BtfSpec, local: BtfSpec, relocation: CoreRelocation): RelocationOutcome {
  const spec = parseLocalSpec(local, relocation);
  const base = { relocation, name: spec.name, guarded: isGuarded(relocation.kind) };
  if (relocation.kind === ReloKind.TypeIdLocal) {
    return { ...base, status: "resolved", value: relocation.typeId, targetTypeId: relocation.typeId };
  }
  const root = btfTypeById(local, relocation.typeId)!;
  const candidates = findCandidates(kernel, root);
  if (candidates.length === 0) {
    const wanted = typeDisplayName({ ...root, name: essentialName(root.name) });
    const why =
      root.name === "" ? `${wanted} root type is anonymous, libbpf cannot relocate it` : `kernel has no ${wanted}`;
    return { ...base, status: "missing", why };
  }
  const matches: { target: TargetSpec; value: number | bigint }[] = [];
  let firstWhy = "";
  for (const candidate of candidates) {
    const result = matchSpec(spec, local, kernel, candidate.id);
    if (!result.matched) {
      firstWhy ||= result.why;
      continue;
    }
    matches.push({ target: result.target, value: relocationValue(spec, kernel, result.target) });
  }
  const [chosen, ...others] = matches;
  if (chosen === undefined) return { ...base, status: "missing", why: firstWhy };
  const disagreeing = others.find(
    (other) => other.target.bitOffset !== chosen.target.bitOffset || other.value !== chosen.value,
  );
  if (disagreeing !== undefined) {
    const named = (rootId: number) => `[${rootId}] ${typeDisplayName(btfTypeById(kernel, rootId))}`;
    const what =
      disagreeing.target.bitOffset !== chosen.target.bitOffset
        ? `bit offsets ${chosen.target.bitOffset} and ${disagreeing.target.bitOffset}`
        : `values ${chosen.value} and ${disagreeing.value}`;
    const why = `kernel ${named(chosen.target.rootId)} and ${named(disagreeing.target.rootId)} both match, at ${what}`;
    return { ...base, status: "ambiguous", why };
  }
  return { ...base, status: "resolved", value: chosen.value, targetTypeId: chosen.target.rootId };
}
