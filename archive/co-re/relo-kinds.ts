// CO-RE relocation kinds (enum bpf_core_relo_kind in include/uapi/linux/bpf.h) and the three
// families libbpf treats differently: field-, type- and enum-value-based.

export const ReloKind = {
  FieldByteOffset: 0,
  FieldByteSize: 1,
  FieldExists: 2,
  FieldSigned: 3,
  FieldLshiftU64: 4,
  FieldRshiftU64: 5,
  TypeIdLocal: 6,
  TypeIdTarget: 7,
  TypeExists: 8,
  TypeSize: 9,
  EnumvalExists: 10,
  EnumvalValue: 11,
  TypeMatches: 12,
} as const;

export type ReloKind = (typeof ReloKind)[keyof typeof ReloKind];

/** The uapi spelling, without the BPF_CORE_ prefix. */
export const reloKindNames = {
  0: "FIELD_BYTE_OFFSET",
  1: "FIELD_BYTE_SIZE",
  2: "FIELD_EXISTS",
  3: "FIELD_SIGNED",
  4: "FIELD_LSHIFT_U64",
  5: "FIELD_RSHIFT_U64",
  6: "TYPE_ID_LOCAL",
  7: "TYPE_ID_TARGET",
  8: "TYPE_EXISTS",
  9: "TYPE_SIZE",
  10: "ENUMVAL_EXISTS",
  11: "ENUMVAL_VALUE",
  12: "TYPE_MATCHES",
} as const satisfies Record<ReloKind, string>;

export type ReloKindName = (typeof reloKindNames)[ReloKind];

/** When a `.BTF.ext` record is read: tells a known kind from one a newer clang invented. */
export function isReloKind(value: number): value is ReloKind {
  return Number.isInteger(value) && value >= ReloKind.FieldByteOffset && value <= ReloKind.TypeMatches;
}

/** When a relocation is resolved: kinds whose access string walks members and array elements. */
export function isFieldBased(kind: ReloKind): boolean {
  return kind <= ReloKind.FieldRshiftU64;
}

/** When a relocation is resolved: kinds about a whole type (access string "0"). */
export function isTypeBased(kind: ReloKind): boolean {
  return (kind >= ReloKind.TypeIdLocal && kind <= ReloKind.TypeSize) || kind === ReloKind.TypeMatches;
}

/** When a relocation is resolved: kinds about one enumerator. */
export function isEnumvalBased(kind: ReloKind): boolean {
  return kind === ReloKind.EnumvalExists || kind === ReloKind.EnumvalValue;
}

/**
 * When coverage is reported: kinds a program tests at run time. libbpf turns an unmatched one into
 * the constant 0 instead of poisoning the instruction, so a miss is a guarded branch, not a failure.
 */
export function isGuarded(kind: ReloKind): boolean {
  return (
    kind === ReloKind.FieldExists ||
    kind === ReloKind.TypeExists ||
    kind === ReloKind.EnumvalExists ||
    kind === ReloKind.TypeMatches
  );
}
