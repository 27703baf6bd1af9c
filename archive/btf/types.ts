// The decoded BTF model: one record per type id, with the trailing data of its kind already read
// and names resolved. Field meanings follow include/uapi/linux/btf.h.
import type { BtfHeader } from "./header.ts";

/** Bits of an INT's encoding (BTF_INT_SIGNED, BTF_INT_CHAR, BTF_INT_BOOL). */
export const IntEncoding = { Signed: 1, Char: 2, Bool: 4 } as const;

/** FUNC and VAR linkage, in wire order (BTF_FUNC_STATIC.., BTF_VAR_STATIC..). */
export const linkages = ["static", "global", "extern"] as const;
export type Linkage = (typeof linkages)[number];

interface TypeBase {
  id: number;
  /** "" for anonymous types. */
  name: string;
}

/** PTR, TYPEDEF, VOLATILE, CONST, RESTRICT: a name (maybe empty) for another type. */
interface TypeRef<K extends string> extends TypeBase {
  kind: K;
  type: number;
}

export interface BtfInt extends TypeBase {
  kind: "INT";
  size: number;
  /** IntEncoding bits. */
  encoding: number;
  bitOffset: number;
  bits: number;
}

export interface BtfArray extends TypeBase {
  kind: "ARRAY";
  type: number;
  indexType: number;
  nelems: number;
}

export interface BtfMember {
  name: string;
  type: number;
  bitOffset: number;
  /** 0 unless the member is a bitfield of a STRUCT/UNION with kind_flag set. */
  bitfieldSize: number;
}

export interface BtfComposite<K extends "STRUCT" | "UNION"> extends TypeBase {
  kind: K;
  size: number;
  members: BtfMember[];
}

export interface BtfEnumValue<V extends number | bigint> {
  name: string;
  value: V;
}

export interface BtfEnum extends TypeBase {
  kind: "ENUM";
  size: number;
  /** kind_flag: values are s32 rather than u32. */
  signed: boolean;
  values: BtfEnumValue<number>[];
}

export interface BtfEnum64 extends TypeBase {
  kind: "ENUM64";
  size: number;
  signed: boolean;
  values: BtfEnumValue<bigint>[];
}

export interface BtfFwd extends TypeBase {
  kind: "FWD";
  /** kind_flag picks union; a plain FWD declares a struct. */
  fwdKind: "struct" | "union";
}

export interface BtfFunc extends TypeBase {
  kind: "FUNC";
  /** The FUNC_PROTO. */
  type: number;
  /** Carried in vlen. */
  linkage: Linkage;
}

export interface BtfParam {
  name: string;
  type: number;
}

export interface BtfFuncProto extends TypeBase {
  kind: "FUNC_PROTO";
  returnType: number;
  /** As on the wire: a variadic function ends with an unnamed param of type 0. */
  params: BtfParam[];
}

export interface BtfVar extends TypeBase {
  kind: "VAR";
  type: number;
  linkage: Linkage;
}

export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

export interface BtfDatasec extends TypeBase {
  kind: "DATASEC";
  size: number;
  vars: BtfVarSecinfo[];
}

export interface BtfFloat extends TypeBase {
  kind: "FLOAT";
  size: number;
}

export interface BtfDeclTag extends TypeBase {
  kind: "DECL_TAG";
  type: number;
  /** -1 tags the type itself, otherwise the member or parameter index. */
  componentIdx: number;
  /** kind_flag (libbpf 1.6 btf__add_decl_attr): the name is an `__attribute__` to emit, not a tag. */
  attribute: boolean;
}

export interface BtfTypeTag extends TypeBase {
  kind: "TYPE_TAG";
  type: number;
  /** kind_flag (libbpf 1.6 btf__add_type_attr), as for DECL_TAG. */
  attribute: boolean;
}

export type BtfType =
  | BtfInt
  | TypeRef<"PTR">
  | BtfArray
  | BtfComposite<"STRUCT">
  | BtfComposite<"UNION">
  | BtfEnum
  | BtfFwd
  | TypeRef<"TYPEDEF">
  | TypeRef<"VOLATILE">
  | TypeRef<"CONST">
  | TypeRef<"RESTRICT">
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag
  | BtfTypeTag
  | BtfEnum64;

export interface BtfSpec {
  header: BtfHeader;
  /** In id order: `types[i].id === i + 1`; id 0 is void and has no record. */
  types: BtfType[];
}

/** When following a type reference: the record for `id`, or undefined for void (0). */
export function btfTypeById(spec: BtfSpec, id: number): BtfType | undefined {
  return id === 0 ? undefined : spec.types[id - 1];
}
