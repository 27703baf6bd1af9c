// Matches a local spec against one kernel candidate, as libbpf's bpf_core_spec_match does
// (tools/lib/bpf/relo_core.c): members by exact name, descending into anonymous structs and
// unions; array indexes within bounds (flexible arrays unbounded); enumerators by essential name.
// A mismatch says what the kernel lacks, e.g. `struct tcp_sock has no member srtt_us`.
import type { BtfComposite, BtfSpec } from "../btf/types.ts";
import { btfTypeById } from "../btf/types.ts";
import { isFlexibleArray, type Accessor, type LocalSpec } from "./local-spec.ts";
import { ReloKind, isEnumvalBased, isTypeBased } from "./relo-kinds.ts";
import { fieldsAreCompat, typesAreCompat, typesMatch } from "./type-compat.ts";
import { essentialName, resolveSize, skipModsAndTypedefs, typeDisplayName } from "./type-names.ts";

export interface TargetSpec {
  rootId: number;
  accessors: Accessor[];
  bitOffset: number;
  enumerator?: { name: string; value: number | bigint };
}

export type SpecMatch = { matched: true; target: TargetSpec } | { matched: false; why: string };

/** When a relocation's candidates are tried: whether kernel type `candidateId` satisfies `local`. */
export function matchSpec(local: LocalSpec, localBtf: BtfSpec, kernel: BtfSpec, candidateId: number): SpecMatch {
  const target: TargetSpec = { rootId: candidateId, accessors: [], bitOffset: 0 };
  const candidate = btfTypeById(kernel, candidateId);
  if (isTypeBased(local.kind)) {
    const ok =
      local.kind === ReloKind.TypeMatches
        ? typesMatch(localBtf, local.rootId, kernel, candidateId)
        : typesAreCompat(localBtf, local.rootId, kernel, candidateId);
    const how = local.kind === ReloKind.TypeMatches ? "does not match" : "is not compatible with";
    return ok
      ? { matched: true, target }
      : { matched: false, why: `kernel ${typeDisplayName(candidate)} ${how} the local one` };
  }
  if (isEnumvalBased(local.kind)) {
    const { type } = skipModsAndTypedefs(kernel, candidateId);
    const wanted = essentialName(local.enumerator!.name);
    if (type?.kind === "ENUM" || type?.kind === "ENUM64") {
      const index = type.values.findIndex((value) => essentialName(value.name) === wanted);
      const enumerator = type.values[index];
      if (enumerator !== undefined) {
        return {
          matched: true,
          target: { ...target, accessors: [{ typeId: type.id, index, name: enumerator.name }], enumerator },
        };
      }
    }
    return { matched: false, why: `${typeDisplayName(type)} has no value ${wanted}` };
  }
  return matchFields(local, localBtf, kernel, target);
}

function matchFields(local: LocalSpec, localBtf: BtfSpec, kernel: BtfSpec, target: TargetSpec): SpecMatch {
  let kernelId = target.rootId;
  for (const [step, accessor] of local.accessors.entries()) {
    if (accessor.name !== undefined) {
      const { type } = skipModsAndTypedefs(kernel, kernelId);
      if (type?.kind !== "STRUCT" && type?.kind !== "UNION") {
        return {
          matched: false,
          why: `${typeDisplayName(type)} is not a struct or union, so has no member ${accessor.name}`,
        };
      }
      const localHolder = btfTypeById(localBtf, accessor.typeId) as BtfComposite<"STRUCT" | "UNION">;
      const localMember = localHolder.members[accessor.index]!;
      const found = findMember(kernel, type, accessor.name, target);
      if (found === undefined)
        return { matched: false, why: `${typeDisplayName(type)} has no member ${accessor.name}` };
      if (!fieldsAreCompat(localBtf, localMember.type, kernel, found)) {
        return {
          matched: false,
          why: `${typeDisplayName(type)}::${accessor.name} is ${describeType(kernel, found)}, not ${describeType(localBtf, localMember.type)}`,
        };
      }
      kernelId = found;
      continue;
    }
    if (step > 0) {
      const { type } = skipModsAndTypedefs(kernel, kernelId);
      if (type?.kind !== "ARRAY") return { matched: false, why: `${typeDisplayName(type)} is not an array` };
      if (!isFlexibleArray(kernel, target.accessors.at(-1), type) && accessor.index >= type.nelems) {
        return { matched: false, why: `index ${accessor.index} is past the kernel array's ${type.nelems} elements` };
      }
      kernelId = skipModsAndTypedefs(kernel, type.type).id;
    }
    target.accessors.push({ typeId: kernelId, index: accessor.index });
    target.bitOffset += accessor.index * resolveSize(kernel, kernelId) * 8;
  }
  return { matched: true, target };
}

// libbpf bpf_core_match_member: exact name, searched depth-first through anonymous members;
// pushes the accessor and adds the member's offset to `target`, returns the member's type id.
function findMember(
  kernel: BtfSpec,
  holder: BtfComposite<"STRUCT" | "UNION">,
  name: string,
  target: TargetSpec,
): number | undefined {
  for (const [index, member] of holder.members.entries()) {
    if (member.name === name) {
      target.accessors.push({ typeId: holder.id, index, name });
      target.bitOffset += member.bitOffset;
      return member.type;
    }
    if (member.name !== "") continue;
    const { type } = skipModsAndTypedefs(kernel, member.type);
    if (type?.kind !== "STRUCT" && type?.kind !== "UNION") continue;
    const before = target.bitOffset;
    target.bitOffset += member.bitOffset;
    const found = findMember(kernel, type, name, target);
    if (found !== undefined) return found;
    target.bitOffset = before;
  }
  return undefined;
}

function describeType(btf: BtfSpec, id: number): string {
  const { type } = skipModsAndTypedefs(btf, id);
  return type?.kind === "PTR" ? "a pointer" : typeDisplayName(type);
}
