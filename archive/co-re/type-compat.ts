// The three compatibility tests libbpf applies between a local and a kernel type
// (tools/lib/bpf/relo_core.c): bpf_core_fields_are_compat for a matched member,
// __bpf_core_types_are_compat for type-based kinds, __bpf_core_types_match for TYPE_MATCHES.
import { FormatError } from "../errors.ts";
import type { BtfSpec, BtfType } from "../btf/types.ts";
import { essentialName, kindsCompatible, skipModsAndTypedefs } from "./type-names.ts";

// libbpf's recursion bound for both walks (BPF_CORE_SPEC_MAX_LEN / MAX_TYPES_ARE_COMPAT_DEPTH).
const maxDepth = 32;

function resolved(spec: BtfSpec, id: number): BtfType {
  const { type } = skipModsAndTypedefs(spec, id);
  if (type === undefined) throw new FormatError(`type [${id}] resolves to void where a type is needed`);
  return type;
}

const isComposite = (type: BtfType) => type.kind === "STRUCT" || type.kind === "UNION";
const isEnum = (type: BtfType) => type.kind === "ENUM" || type.kind === "ENUM64";
// An INT with a bit offset is the pre-5.0 bitfield encoding; libbpf refuses to relocate through it.
const isPlainInt = (type: BtfType) => type.kind === "INT" && type.bitOffset === 0;

/** When a member matched by name: whether its kernel type can stand in for the local one. */
export function fieldsAreCompat(local: BtfSpec, localId: number, kernel: BtfSpec, kernelId: number): boolean {
  let [l, k] = [localId, kernelId];
  for (let depth = 0; depth < maxDepth; depth++) {
    const lt = resolved(local, l);
    const kt = resolved(kernel, k);
    if (isComposite(lt) && isComposite(kt)) return true;
    if (!kindsCompatible(lt, kt)) return false;
    switch (lt.kind) {
      case "PTR":
      case "FLOAT":
        return true;
      case "FWD":
      case "ENUM":
      case "ENUM64": {
        const [ln, kn] = [essentialName(lt.name), essentialName(kt.name)];
        return ln === "" || kn === "" || ln === kn;
      }
      case "INT":
        return isPlainInt(lt) && isPlainInt(kt);
      case "ARRAY":
        if (kt.kind !== "ARRAY") return false;
        [l, k] = [lt.type, kt.type];
        break;
      default:
        return false;
    }
  }
  throw new FormatError(`member types [${localId}] and [${kernelId}] nest deeper than ${maxDepth}`);
}

/** When a TYPE_ID_TARGET, TYPE_EXISTS or TYPE_SIZE candidate is checked. */
export function typesAreCompat(
  local: BtfSpec,
  localId: number,
  kernel: BtfSpec,
  kernelId: number,
  level = maxDepth,
): boolean {
  if (level <= 0) throw new FormatError(`types [${localId}] and [${kernelId}] nest deeper than ${maxDepth}`);
  const [lRoot, kRoot] = [resolvedOrVoid(local, localId, false), resolvedOrVoid(kernel, kernelId, false)];
  if (lRoot !== undefined && kRoot !== undefined && !kindsCompatible(lRoot, kRoot)) return false;
  let [l, k] = [localId, kernelId];
  for (let depth = 0; depth < maxDepth; depth++) {
    const lt = resolvedOrVoid(local, l, true);
    const kt = resolvedOrVoid(kernel, k, true);
    if (lt === undefined || kt === undefined) return lt === kt;
    if (!kindsCompatible(lt, kt)) return false;
    switch (lt.kind) {
      case "STRUCT":
      case "UNION":
      case "ENUM":
      case "ENUM64":
      case "FWD":
        return true;
      case "INT":
        return isPlainInt(lt) && isPlainInt(kt);
      case "PTR":
      case "ARRAY":
        if (kt.kind !== lt.kind) return false;
        [l, k] = [lt.type, kt.type];
        break;
      case "FUNC_PROTO": {
        if (kt.kind !== "FUNC_PROTO" || lt.params.length !== kt.params.length) return false;
        for (const [index, param] of lt.params.entries()) {
          if (!typesAreCompat(local, param.type, kernel, kt.params[index]!.type, level - 1)) return false;
        }
        [l, k] = [lt.returnType, kt.returnType];
        break;
      }
      default:
        return false;
    }
  }
  throw new FormatError(`types [${localId}] and [${kernelId}] nest deeper than ${maxDepth}`);
}

// libbpf treats void (id 0, BTF_KIND_UNKN) as a type that is compatible only with void.
function resolvedOrVoid(spec: BtfSpec, id: number, skip: boolean): BtfType | undefined {
  if (id === 0) return undefined;
  return skip ? resolved(spec, id) : spec.types[id - 1];
}

/** When a TYPE_MATCHES candidate is checked: the stricter, layout-aware comparison (libbpf 1.1). */
export function typesMatch(
  local: BtfSpec,
  localId: number,
  kernel: BtfSpec,
  kernelId: number,
  behindPointer = false,
  level = maxDepth,
): boolean {
  let [l, k, behind] = [localId, kernelId, behindPointer];
  for (let depth = 0; depth < maxDepth; depth++) {
    if (level - depth <= 0) break;
    const lt = resolvedOrVoid(local, l, true);
    const kt = resolvedOrVoid(kernel, k, true);
    if (lt === undefined || kt === undefined) return lt === kt;
    if (!namesMatch(lt.name, kt.name)) return false;
    switch (lt.kind) {
      case "FWD": {
        const localUnion = lt.fwdKind === "union";
        if (kt.kind === "FWD") return localUnion === (kt.fwdKind === "union");
        return behind && kt.kind === (localUnion ? "UNION" : "STRUCT");
      }
      case "ENUM":
      case "ENUM64":
        return isEnum(kt) && enumsMatch(lt, kt);
      case "STRUCT":
      case "UNION":
        if (behind)
          return kt.kind === lt.kind || (kt.kind === "FWD" && (lt.kind === "UNION") === (kt.fwdKind === "union"));
        return kt.kind === lt.kind && compositesMatch(local, lt, kernel, kt, level - depth - 1);
      case "INT":
        return (
          kt.kind === "INT" && lt.size === kt.size && (lt.encoding & 1) === (kt.encoding & 1) // BTF_INT_SIGNED
        );
      case "PTR":
        if (kt.kind !== "PTR") return false;
        [l, k, behind] = [lt.type, kt.type, true];
        break;
      case "ARRAY":
        if (kt.kind !== "ARRAY" || lt.nelems !== kt.nelems) return false;
        [l, k] = [lt.type, kt.type];
        break;
      case "FUNC_PROTO": {
        if (kt.kind !== "FUNC_PROTO" || lt.params.length !== kt.params.length) return false;
        for (const [index, param] of lt.params.entries()) {
          if (!typesMatch(local, param.type, kernel, kt.params[index]!.type, behind, level - depth - 1)) return false;
        }
        [l, k] = [lt.returnType, kt.returnType];
        break;
      }
      default:
        return false;
    }
  }
  throw new FormatError(`types [${localId}] and [${kernelId}] nest deeper than ${maxDepth}`);
}

// libbpf bpf_core_names_match: an anonymous kernel type matches only an anonymous local one.
function namesMatch(local: string, kernel: string): boolean {
  if (kernel === "") return local === "";
  return essentialName(local) === essentialName(kernel);
}

function enumsMatch(
  local: BtfType & { kind: "ENUM" | "ENUM64" },
  kernel: BtfType & { kind: "ENUM" | "ENUM64" },
): boolean {
  if (local.size !== kernel.size) return false;
  return local.values.every((value) => kernel.values.some((candidate) => namesMatch(value.name, candidate.name)));
}

function compositesMatch(
  local: BtfSpec,
  lt: BtfType & { kind: "STRUCT" | "UNION" },
  kernel: BtfSpec,
  kt: BtfType & { kind: "STRUCT" | "UNION" },
  level: number,
): boolean {
  if (lt.size !== kt.size || lt.members.length > kt.members.length) return false;
  return lt.members.every((member) =>
    kt.members.some(
      (candidate) =>
        namesMatch(member.name, candidate.name) && typesMatch(local, member.type, kernel, candidate.type, false, level),
    ),
  );
}
