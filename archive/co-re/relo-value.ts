// The value libbpf would patch into the instruction for a matched spec (bpf_core_calc_field_relo,
// bpf_core_calc_type_relo, bpf_core_calc_enumval_relo): coverage compares the values of several
// matching candidates, because libbpf refuses to load when they disagree.
import { FormatError } from "../errors.ts";
import { btfTypeById, type BtfSpec } from "../btf/types.ts";
import type { LocalSpec } from "./local-spec.ts";
import { ReloKind } from "./relo-kinds.ts";
import type { TargetSpec } from "./spec-match.ts";
import { resolveSize, skipModsAndTypedefs } from "./type-names.ts";

/** When a candidate matched: the instruction's new immediate for this relocation kind. */
export function relocationValue(local: LocalSpec, kernel: BtfSpec, target: TargetSpec): number | bigint {
  switch (local.kind) {
    case ReloKind.TypeIdLocal:
      return local.rootId;
    case ReloKind.TypeIdTarget:
      return target.rootId;
    case ReloKind.TypeExists:
    case ReloKind.TypeMatches:
    case ReloKind.EnumvalExists:
    case ReloKind.FieldExists:
      return 1;
    case ReloKind.TypeSize:
      return resolveSize(kernel, target.rootId);
    case ReloKind.EnumvalValue:
      return target.enumerator!.value;
    default:
      return fieldValue(local.kind, kernel, target);
  }
}

function fieldValue(kind: ReloKind, kernel: BtfSpec, target: TargetSpec): number {
  const last = target.accessors.at(-1)!;
  if (last.name === undefined) {
    // An array element or the root itself: only its offset and size can be asked for.
    if (kind === ReloKind.FieldByteOffset) return target.bitOffset / 8;
    if (kind === ReloKind.FieldByteSize) return resolveSize(kernel, last.typeId);
    throw new FormatError(`relocation kind ${kind} cannot apply to an array element or a whole type`);
  }
  const holder = btfTypeById(kernel, last.typeId);
  if (holder?.kind !== "STRUCT" && holder?.kind !== "UNION")
    throw new FormatError(`type [${last.typeId}] is not a struct or union`);
  const member = holder.members[last.index]!;
  const { id: fieldId, type: fieldType } = skipModsAndTypedefs(kernel, member.type);
  const bitOffset = target.bitOffset;
  let bitSize = member.bitfieldSize;
  let byteSize: number;
  let byteOffset: number;
  if (bitSize > 0) {
    // The smallest aligned load that holds the whole bitfield, growing up to 8 bytes.
    byteSize = resolveSize(kernel, fieldId);
    byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
    while (bitOffset + bitSize - byteOffset * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new FormatError(`bitfield at bit ${bitOffset} cannot be read with a 64-bit load`);
      byteSize *= 2;
      byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = resolveSize(kernel, fieldId);
    byteOffset = Math.floor(bitOffset / 8);
    bitSize = byteSize * 8;
  }
  switch (kind) {
    case ReloKind.FieldByteOffset:
      return byteOffset;
    case ReloKind.FieldByteSize:
      return byteSize;
    case ReloKind.FieldSigned:
      return (fieldType?.kind === "ENUM" || fieldType?.kind === "ENUM64") && fieldType.signed
        ? 1
        : fieldType?.kind === "INT" && (fieldType.encoding & 1) !== 0
          ? 1
          : 0;
    case ReloKind.FieldLshiftU64:
      // Kernel BTF here is little-endian (x86_64, arm64).
      return 64 - (bitOffset + bitSize - byteOffset * 8);
    default:
      return 64 - bitSize;
  }
}
