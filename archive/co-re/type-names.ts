// Type helpers CO-RE matching shares with the naming of relocations: skipping modifiers, the
// essential name (`tcp_sock___old` -> `tcp_sock`), sizes, and how a developer spells a type.
import { FormatError } from "../errors.ts";
import { btfTypeById, type BtfSpec, type BtfType } from "../btf/types.ts";

// libbpf stops following chains at 32 hops (MAX_RESOLVE_DEPTH in btf.c); deeper is a loop.
const maxResolveDepth = 32;

/** When an access step or a candidate is compared: the type behind typedefs and qualifiers. */
export function skipModsAndTypedefs(spec: BtfSpec, id: number): { id: number; type: BtfType | undefined } {
  let current = id;
  for (let depth = 0; depth < maxResolveDepth; depth++) {
    const type = btfTypeById(spec, current);
    if (
      type === undefined ||
      !(
        type.kind === "TYPEDEF" ||
        type.kind === "VOLATILE" ||
        type.kind === "CONST" ||
        type.kind === "RESTRICT" ||
        type.kind === "TYPE_TAG"
      )
    ) {
      return { id: current, type };
    }
    current = type.type;
  }
  throw new FormatError(`type [${id}] is a loop of more than ${maxResolveDepth} typedefs or qualifiers`);
}

/** When candidates are looked up: the name without a `___flavor` suffix (libbpf bpf_core_essential_name_len). */
export function essentialName(name: string): string {
  // The last "X___Y" where neither X nor Y is an underscore: `a____b` and `a___` stay whole.
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== "_" && name.startsWith("___", i + 1) && name[i + 4] !== "_") return name.slice(0, i + 1);
  }
  return name;
}

/** When a byte offset or size is computed: the size in bytes of `id` (libbpf btf__resolve_size). */
export function resolveSize(spec: BtfSpec, id: number): number {
  let current = id;
  let elements = 1;
  for (let depth = 0; depth < maxResolveDepth; depth++) {
    const type = btfTypeById(spec, current);
    if (type === undefined) throw new FormatError(`type [${id}] has no size: it resolves to void`);
    switch (type.kind) {
      case "INT":
      case "STRUCT":
      case "UNION":
      case "ENUM":
      case "ENUM64":
      case "DATASEC":
      case "FLOAT":
        return elements * type.size;
      case "PTR":
        // Kernel pointers in the BTFs btfmill handles are 64-bit (x86_64, arm64, bpf).
        return elements * 8;
      case "TYPEDEF":
      case "VOLATILE":
      case "CONST":
      case "RESTRICT":
      case "TYPE_TAG":
      case "VAR":
      case "DECL_TAG":
        current = type.type;
        break;
      case "ARRAY":
        elements *= type.nelems;
        current = type.type;
        break;
      default:
        throw new FormatError(`type [${id}] has no size: it resolves to ${type.kind} [${type.id}]`);
    }
  }
  throw new FormatError(`type [${id}] is a loop of more than ${maxResolveDepth} references`);
}

/** When a relocation is named: `struct tcp_sock`, `enum tcp_ca_state`, `typedef u32`, `int`. */
export function typeDisplayName(type: BtfType | undefined): string {
  if (type === undefined) return "void";
  const name = type.name === "" ? "(anon)" : type.name;
  switch (type.kind) {
    case "STRUCT":
      return `struct ${name}`;
    case "UNION":
      return `union ${name}`;
    case "ENUM":
    case "ENUM64":
      return `enum ${name}`;
    case "FWD":
      return `${type.fwdKind} ${name}`;
    case "TYPEDEF":
      return `typedef ${name}`;
    case "PTR":
      return "pointer";
    case "ARRAY":
      return "array";
    default:
      return type.name === "" ? type.kind.toLowerCase() : type.name;
  }
}

/** When kinds are compared: same kind, with ENUM and ENUM64 interchangeable (libbpf btf_kind_core_compat). */
export function kindsCompatible(local: BtfType, target: BtfType): boolean {
  const family = (type: BtfType) => (type.kind === "ENUM64" ? "ENUM" : type.kind);
  return family(local) === family(target);
}
