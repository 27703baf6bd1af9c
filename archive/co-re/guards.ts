// Which failing relocations a program never reaches on a kernel, because a check of its own
// (`bpf_core_field_exists`, `bpf_core_type_exists`, `bpf_core_enum_value_exists`,
// `bpf_core_type_matches`) sends it down the other branch. libbpf poisons the failing
// instruction, but the verifier only rejects it when a path reaches it; the guard's value is a
// load-time constant, so the branch it closes is dead code.
//
// Decided from the relocations alone, within one program (ELF function):
// - the same access (root type and access string) checked by the matching `*_EXISTS` kind, or the
//   root type checked by TYPE_EXISTS/TYPE_MATCHES, and that check is 0 on this kernel;
// - a read through a `___flavor` of a type while the program checks another flavor of the same
//   type (the usual `if (exists(new->f)) read new->f; else read old->g`), and that check is 1.
import { btfTypeById, type BtfSpec } from "../btf/types.ts";
import { ReloKind, isEnumvalBased, isFieldBased, isGuarded, isTypeBased, type ReloKindName } from "./relo-kinds.ts";
import type { RelocationOutcome } from "./resolve.ts";
import { essentialName } from "./type-names.ts";

/** The check that makes a failing relocation dead code: `relo #index` of the same section. */
export interface GuardRef {
  index: number;
  kind: ReloKindName;
  name: string;
  /** What the check evaluates to on this kernel, which closes the failing branch. */
  value: 0 | 1;
}

/** When coverage is computed: the check that keeps `failing` from running, among its program's outcomes. */
export function findGuard(
  local: BtfSpec,
  failing: RelocationOutcome,
  program: RelocationOutcome[],
): GuardRef | undefined {
  const read = failing.relocation;
  if (failing.status !== "missing" || isGuarded(read.kind)) return undefined;
  for (const check of program) {
    const guard = check.relocation;
    if (
      !isGuarded(guard.kind) ||
      check.status === "ambiguous" ||
      guard.program !== read.program ||
      guard.section !== read.section
    )
      continue;
    const value = check.status === "resolved" && check.value !== 0 && check.value !== 0n ? 1 : 0;
    const ref = { index: guard.index, kind: guard.kindName, name: check.name, value } as const;
    if (value === 0 && guard.typeId === read.typeId) {
      if (isTypeCheck(guard.kind)) return ref;
      if (guard.accessString === read.accessString && sameFamily(guard.kind, read.kind)) return ref;
    }
    if (value === 1 && isSiblingFlavor(local, read.typeId, guard.typeId)) return ref;
  }
  return undefined;
}

function isTypeCheck(kind: ReloKind): boolean {
  return kind === ReloKind.TypeExists || kind === ReloKind.TypeMatches;
}

function sameFamily(guard: ReloKind, read: ReloKind): boolean {
  return (
    (guard === ReloKind.FieldExists && isFieldBased(read)) ||
    (guard === ReloKind.EnumvalExists && isEnumvalBased(read)) ||
    (isTypeCheck(guard) && isTypeBased(read))
  );
}

/** `tcp_sock___old` and `tcp_sock` (or `tcp_sock___new`): distinct local types of one essential name, the read's flavored. */
function isSiblingFlavor(local: BtfSpec, readRoot: number, guardRoot: number): boolean {
  if (readRoot === guardRoot) return false;
  const readName = btfTypeById(local, readRoot)?.name ?? "";
  const guardName = btfTypeById(local, guardRoot)?.name ?? "";
  const essential = essentialName(readName);
  return essential !== readName && essential !== "" && essential === essentialName(guardName);
}
