// Struct and union layouts by name, and their differences: checks that the BTF pahole made from a
// kernel's DWARF places every member where the kernel's own .BTF (or a trusted build) does.
//
// A layout is kept as its signature, one string: a kernel's ~10k named structs take 3.6 MB that
// way against 8.7 MB as an object per member, held while the other BTF is read, and two equal
// layouts are two equal strings. The members are decoded again only to word a difference.
import { btfTypeById, type BtfSpec, type BtfType } from "./types.ts";

export interface MemberLayout {
  /** Members of anonymous structs/unions appear under their own names, as C and CO-RE reach them. */
  name: string;
  bitOffset: number;
  bitfieldSize: number;
}

export interface StructLayout {
  size: number;
  members: MemberLayout[];
}

/**
 * A StructLayout as one string: its size, then each member's name, bit offset and bitfield size,
 * all separated by NUL, which no BTF name holds (the string section ends each name with one).
 */
export type LayoutSignature = string;

/** When a layout is stored or compared: its signature. */
export function layoutSignature(layout: StructLayout): LayoutSignature {
  return [
    layout.size,
    ...layout.members.flatMap((member) => [member.name, member.bitOffset, member.bitfieldSize]),
  ].join("\0");
}

/** When a layout's members are needed (to word a difference): the layout a signature spells. */
export function layoutOf(signature: LayoutSignature): StructLayout {
  const [size, ...fields] = signature.split("\0");
  const members: MemberLayout[] = [];
  for (let at = 0; at + 2 < fields.length; at += 3) {
    members.push({ name: fields[at]!, bitOffset: Number(fields[at + 1]), bitfieldSize: Number(fields[at + 2]) });
  }
  return { size: Number(size), members };
}

/** A type by id; undefined for void (0). */
export type TypeById = (id: number) => BtfType | undefined;

/** The kinds flattening an anonymous member reaches (stripModifiers' and the composites): what a TypeById must find. */
export const layoutKinds: ReadonlySet<string> = new Set([
  "STRUCT",
  "UNION",
  "CONST",
  "VOLATILE",
  "RESTRICT",
  "TYPE_TAG",
]);

/** When checking a BTF against a reference: the distinct layouts of each "struct name"/"union name". */
export function structLayouts(spec: BtfSpec): Map<string, LayoutSignature[]> {
  return structLayoutsOf(spec.types, (id) => btfTypeById(spec, id));
}

/**
 * When only some types were kept (survey.ts): the layouts of the structs and unions among `types`;
 * `typeById` must reach every struct, union and modifier their anonymous members lead to.
 */
export function structLayoutsOf(types: Iterable<BtfType>, typeById: TypeById): Map<string, LayoutSignature[]> {
  // One BTF may hold a name with several layouts (two drivers each defining a private
  // `struct priv`; /sys/kernel/btf/vmlinux of 6.18 has 14 such names). Picking one by type id
  // would depend on pahole's ordering, so each name keeps the set of its distinct layouts, sorted,
  // and compareLayouts compares those sets.
  const byName = new Map<string, LayoutSignature[]>();
  for (const type of types) {
    if ((type.kind !== "STRUCT" && type.kind !== "UNION") || type.name === "") continue;
    const key = `${type.kind.toLowerCase()} ${type.name}`;
    const members: MemberLayout[] = [];
    flattenMembers(typeById, type, 0, members, new Set([type.id]));
    const signature = layoutSignature({ size: type.size, members });
    const layouts = byName.get(key);
    if (layouts === undefined) byName.set(key, [signature]);
    else if (!layouts.includes(signature)) layouts.push(signature);
  }
  for (const layouts of byName.values()) if (layouts.length > 1) layouts.sort();
  return byName;
}

/** When pahole's output is checked against the kernel's .BTF: one "ours vs reference" line per difference. */
export function compareLayouts(
  ours: Map<string, LayoutSignature[]>,
  reference: Map<string, LayoutSignature[]>,
): string[] {
  // Names only `ours` has are not mismatches (pahole may keep types the kernel's build dropped);
  // reference names that `ours` lacks are. Sorted by name so reports are stable.
  const mismatches: string[] = [];
  for (const key of [...reference.keys()].sort()) {
    const theirs = reference.get(key)!;
    const mine = ours.get(key);
    if (mine === undefined) {
      mismatches.push(`${key} missing from ours`);
    } else if (mine.length === 1 && theirs.length === 1) {
      if (mine[0] !== theirs[0]) mismatches.push(...compareOne(key, layoutOf(mine[0]!), layoutOf(theirs[0]!)));
    } else if (mine.length !== theirs.length || mine.some((signature, index) => signature !== theirs[index])) {
      const counts = `its ${mine.length} distinct layouts in ours differ from the ${theirs.length} in reference`;
      mismatches.push(`${key}: ${counts}`);
    }
  }
  return mismatches;
}

function compareOne(key: string, mine: StructLayout, theirs: StructLayout): string[] {
  const mismatches: string[] = [];
  if (mine.size !== theirs.size) mismatches.push(`${key}: size ${mine.size} vs ${theirs.size}`);
  const myMembers = new Map(mine.members.map((member) => [member.name, member]));
  const theirNames = new Set(theirs.members.map((member) => member.name));
  for (const member of theirs.members) {
    const at = `${key}::${member.name}`;
    const found = myMembers.get(member.name);
    if (found === undefined) {
      mismatches.push(`${at} missing from ours`);
      continue;
    }
    if (found.bitOffset !== member.bitOffset) {
      mismatches.push(`${at} at bit ${found.bitOffset} vs ${member.bitOffset}`);
    }
    if (found.bitfieldSize !== member.bitfieldSize) {
      mismatches.push(`${at} bitfield size ${found.bitfieldSize} vs ${member.bitfieldSize}`);
    }
  }
  for (const member of mine.members) {
    if (!theirNames.has(member.name)) {
      mismatches.push(`${key}::${member.name} missing from reference`);
    }
  }
  return mismatches;
}

function flattenMembers(
  typeById: TypeById,
  type: BtfType & { kind: "STRUCT" | "UNION" },
  base: number,
  out: MemberLayout[],
  path: Set<number>,
): void {
  for (const member of type.members) {
    const bitOffset = base + member.bitOffset;
    if (member.name !== "") {
      out.push({ name: member.name, bitOffset, bitfieldSize: member.bitfieldSize });
      continue;
    }
    // An unnamed member that is not a struct/union is an unnamed bitfield: padding nobody reads.
    const inner = stripModifiers(typeById, member.type);
    if (inner !== undefined && (inner.kind === "STRUCT" || inner.kind === "UNION") && !path.has(inner.id)) {
      path.add(inner.id);
      flattenMembers(typeById, inner, bitOffset, out, path);
      path.delete(inner.id);
    }
  }
}

function stripModifiers(typeById: TypeById, id: number): BtfType | undefined {
  let type = typeById(id);
  // Bounded: a modifier loop in hostile BTF must not hang the check.
  for (let hops = 0; hops < 32 && type !== undefined; hops++) {
    if (type.kind !== "CONST" && type.kind !== "VOLATILE" && type.kind !== "RESTRICT" && type.kind !== "TYPE_TAG") {
      return type;
    }
    type = typeById(type.type);
  }
  return undefined;
}
