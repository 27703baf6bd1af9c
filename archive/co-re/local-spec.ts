// Walks a relocation's access string through the object's own types, as libbpf's
// bpf_core_parse_spec does (tools/lib/bpf/relo_core.c), and names what it reaches the way a
// developer reads it:
//
//   [tcp_sock] "0:1"      -> struct tcp_sock::srtt_us
//   [tcp_sock] "0:0:0:0"  -> struct tcp_sock::sk.__sk_common.skc_daddr
//   [task_struct] "0:3:2" -> struct task_struct::comm[2]
//   [tcp_ca_state] "4"    -> enum tcp_ca_state::TCP_CA_Loss
//   [task_struct] "0"     -> struct task_struct           (type-based kinds)
import { FormatError } from "../errors.ts";
import { btfTypeById, type BtfArray, type BtfSpec, type BtfType } from "../btf/types.ts";
import type { CoreRelocation } from "./bpf-object.ts";
import { isEnumvalBased, isTypeBased, type ReloKind } from "./relo-kinds.ts";
import { resolveSize, skipModsAndTypedefs, typeDisplayName } from "./type-names.ts";

/** One step libbpf matches by: a named member, or an array index (the root's is the first). */
export interface Accessor {
  /** The composite holding the member, or the element type for an array index. */
  typeId: number;
  index: number;
  /** Member name; undefined for array indexes. Anonymous members are not accessors. */
  name?: string;
}

export interface LocalSpec {
  kind: ReloKind;
  /** The relocation's root type id, before typedefs are skipped. */
  rootId: number;
  /** Every index of the access string, anonymous members included. */
  raw: number[];
  accessors: Accessor[];
  /** Bit offset from the root, for field-based kinds. */
  bitOffset: number;
  /** The enumerator, for enum-value kinds. */
  enumerator?: { name: string; value: number | bigint };
  /** `struct tcp_sock::srtt_us`, `enum bpf_func_id::BPF_FUNC_x`, `struct foo`. */
  name: string;
}

/** When a relocation is resolved or reported: its spec over the object's types. */
export function parseLocalSpec(btf: BtfSpec, relocation: CoreRelocation): LocalSpec {
  const raw = relocation.accessString.split(":").map(Number);
  const root = btfTypeById(btf, relocation.typeId);
  const base = { kind: relocation.kind, rootId: relocation.typeId, raw, bitOffset: 0 };
  const fail = (why: string) =>
    new FormatError(`relocation ${relocation.kindName} on [${relocation.typeId}] "${relocation.accessString}": ${why}`);

  if (isTypeBased(relocation.kind)) {
    if (relocation.accessString !== "0") throw fail('a type-based relocation must have access string "0"');
    return { ...base, accessors: [], name: typeDisplayName(root) };
  }
  const { id: rootId, type: rootType } = skipModsAndTypedefs(btf, relocation.typeId);
  if (isEnumvalBased(relocation.kind)) {
    if (rootType === undefined || (rootType.kind !== "ENUM" && rootType.kind !== "ENUM64") || raw.length !== 1) {
      throw fail("an enum-value relocation must index one value of an enum");
    }
    const enumerator = rootType.values[raw[0]!];
    if (enumerator === undefined) throw fail(`${typeDisplayName(rootType)} has no value #${raw[0]}`);
    return {
      ...base,
      accessors: [{ typeId: rootId, index: raw[0]!, name: enumerator.name }],
      enumerator,
      name: `${typeDisplayName(rootType)}::${enumerator.name}`,
    };
  }
  return walkFields(btf, base, rootId, rootType, fail);
}

function walkFields(
  btf: BtfSpec,
  base: Omit<LocalSpec, "accessors" | "name">,
  rootId: number,
  rootType: BtfType | undefined,
  fail: (why: string) => FormatError,
): LocalSpec {
  const [first, ...rest] = base.raw as [number, ...number[]];
  const accessors: Accessor[] = [{ typeId: rootId, index: first }];
  let bitOffset = first * resolveSize(btf, rootId) * 8;
  let path = "";
  let id = rootId;
  for (const index of rest) {
    const { id: currentId, type } = skipModsAndTypedefs(btf, id);
    if (type?.kind === "STRUCT" || type?.kind === "UNION") {
      const member = type.members[index];
      if (member === undefined) throw fail(`${typeDisplayName(type)} has no member #${index}`);
      bitOffset += member.bitOffset;
      if (member.name !== "") {
        accessors.push({ typeId: currentId, index, name: member.name });
        path += `${path === "" ? "" : "."}${member.name}`;
      }
      id = member.type;
    } else if (type?.kind === "ARRAY") {
      const element = skipModsAndTypedefs(btf, type.type);
      if (!isFlexibleArray(btf, accessors.at(-1), type) && index >= type.nelems) {
        throw fail(`index ${index} is past the ${type.nelems} elements of the array`);
      }
      accessors.push({ typeId: element.id, index });
      bitOffset += index * resolveSize(btf, element.id) * 8;
      path += `[${index}]`;
      id = element.id;
    } else {
      throw fail(`cannot take member or element ${index} of ${typeDisplayName(type)}`);
    }
  }
  const rootName = `${typeDisplayName(rootType)}${first === 0 ? "" : `[${first}]`}`;
  return { ...base, accessors, bitOffset, name: path === "" ? rootName : `${rootName}::${path}` };
}

/** When an array index is checked: a zero-length array as a struct's last member has no bound (libbpf is_flex_arr). */
export function isFlexibleArray(btf: BtfSpec, previous: Accessor | undefined, array: BtfArray): boolean {
  if (previous?.name === undefined || array.nelems > 0) return false;
  const holder = btfTypeById(btf, previous.typeId);
  return (holder?.kind === "STRUCT" || holder?.kind === "UNION") && previous.index === holder.members.length - 1;
}
