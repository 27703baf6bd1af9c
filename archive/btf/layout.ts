// Struct and union layouts by name, and their differences: checks that the BTF pahole made from a
// kernel's DWARF places every member where the kernel's own .BTF (or a trusted build) does.
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

/** When checking a BTF against a reference: the distinct layouts of each "struct name"/"union name". */
export function structLayouts(spec: BtfSpec): Map<string, StructLayout[]> {
  // One BTF may hold a name with several layouts (two drivers each defining a private
  // `struct priv`; /sys/kernel/btf/vmlinux of 6.18 has 14 such names). Picking one by type id
  // would depend on pahole's ordering, so each name keeps the set of its distinct layouts, sorted
  // by a canonical signature, and compareLayouts compares those sets.
  const byName = new Map<string, Map<string, StructLayout>>();
  for (const type of spec.types) {
    if ((type.kind !== "STRUCT" && type.kind !== "UNION") || type.name === "") continue;
    const key = `${type.kind.toLowerCase()} ${type.name}`;
    const members: MemberLayout[] = [];
    flattenMembers(spec, type, 0, members, new Set([type.id]));
    const layout = { size: type.size, members };
    let layouts = byName.get(key);
    if (layouts === undefined) byName.set(key, (layouts = new Map()));
    layouts.set(layoutSignature(layout), layout);
  }
  const result = new Map<string, StructLayout[]>();
  for (const [key, layouts] of byName) {
    result.set(key, [...layouts.keys()].sort().map((signature) => layouts.get(signature)!));
  }
  return result;
}

/** When pahole's output is checked against the kernel's .BTF: one "ours vs reference" line per difference. */
export function compareLayouts(
  ours: Map<string, StructLayout[]>,
  reference: Map<string, StructLayout[]>,
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
      mismatches.push(...compareOne(key, mine[0]!, theirs[0]!));
    } else if (!sameSignatures(mine, theirs)) {
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
  spec: BtfSpec,
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
    const inner = stripModifiers(spec, member.type);
    if (inner !== undefined && (inner.kind === "STRUCT" || inner.kind === "UNION") && !path.has(inner.id)) {
      path.add(inner.id);
      flattenMembers(spec, inner, bitOffset, out, path);
      path.delete(inner.id);
    }
  }
}

function stripModifiers(spec: BtfSpec, id: number): BtfType | undefined {
  let type = btfTypeById(spec, id);
  // Bounded: a modifier loop in hostile BTF must not hang the check.
  for (let hops = 0; hops < 32 && type !== undefined; hops++) {
    if (type.kind !== "CONST" && type.kind !== "VOLATILE" && type.kind !== "RESTRICT" && type.kind !== "TYPE_TAG") {
      return type;
    }
    type = btfTypeById(spec, type.type);
  }
  return undefined;
}

function layoutSignature(layout: StructLayout): string {
  return `${layout.size}|${layout.members.map((m) => `${m.name}@${m.bitOffset}:${m.bitfieldSize}`).join(",")}`;
}

function sameSignatures(a: StructLayout[], b: StructLayout[]): boolean {
  const left = a.map(layoutSignature);
  const right = b.map(layoutSignature);
  return left.length === right.length && left.every((signature, index) => signature === right[index]);
}
