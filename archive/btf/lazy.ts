// A large BTF opened for lookups instead of decoded whole. Coverage asks a kernel's 5 MB BTF
// (~127k types) for a few dozen names and the types they lead to; decoding every type for that,
// and indexing all of their names, costs several times what this does, per kernel (the rows
// `parseBtf`, `parseBtf + name index` and `openBtf + 34 lookups` of test/bench/in-process.ts,
// on this machine's /sys/kernel/btf/vmlinux). Here the framing of every record
// is still checked up front (parse.ts typeRecords), but a type is decoded, with all its checks,
// on first access, and names are found through a hash of each type's name bytes.
import { Buffer } from "node:buffer";
import { parseBtfHeader } from "./header.ts";
import { BtfKind, btfKindNames, type BtfKindName } from "./kinds.ts";
import { decodeType, newTypeReader, typeRecords } from "./parse.ts";
import type { BtfStrings } from "./strings.ts";
import { FormatError } from "../errors.ts";
import type { BtfSpec, BtfType } from "./types.ts";

type NameLookup = (name: string, kind: BtfKindName) => BtfType[];

const lookups = new WeakMap<BtfSpec, NameLookup>();

/**
 * When a BTF is opened only to be looked up (a kernel's, for coverage): a spec whose `types`
 * decodes each type on first access. It reads as an ordinary array; only whole-array walks
 * (`find`, iteration) cost what parseBtf does.
 */
export function openBtf(bytes: Uint8Array): BtfSpec {
  const header = parseBtfHeader(bytes);
  const { littleEndian: le } = header;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stringSection = bytes.subarray(header.stringStart, header.stringStart + header.stringLength);
  const strings = lazyStrings(stringSection);
  const { offsets, kinds } = typeRecords(view, header);
  const count = offsets.length;
  const reader = newTypeReader(view, le, strings, count);
  // Decoded types live in a Map, not in a 127k-slot array: a kernel's spec is opened per minify
  // and should cost about the bytes it wraps, since every MB this process holds makes each
  // fork of bpftool slower (the page tables are copied).
  const decoded = new Map<number, BtfType>();
  const typeAt = (index: number): BtfType => {
    let type = decoded.get(index);
    if (type === undefined) {
      const offset = offsets[index]!;
      type = decodeType(reader, index + 1, offset, view.getUint32(offset + 4, le));
      decoded.set(index, type);
    }
    return type;
  };
  const arrayIndex = (property: string | symbol): number | undefined => {
    if (typeof property !== "string" || property === "" || property.length > 10) return undefined;
    const index = Number(property);
    return Number.isInteger(index) && index >= 0 && String(index) === property ? index : undefined;
  };
  const types = new Proxy<BtfType[]>([], {
    get(target, property, receiver) {
      if (property === "length") return count;
      const index = arrayIndex(property);
      if (index === undefined) return Reflect.get(target, property, receiver) as unknown;
      return index < count ? typeAt(index) : undefined;
    },
    has(target, property) {
      const index = arrayIndex(property);
      return index === undefined ? Reflect.has(target, property) : index < count;
    },
  });
  const spec: BtfSpec = { header, types };

  // One table per kind family, built on the first lookup of that family: a kernel's names are
  // mostly FUNCs (56k of 70k named types in a 6.12 kernel), which no CO-RE relocation asks for,
  // so hashing only the families asked for (structs, unions, enums, typedefs) is a fifth of the work.
  const tables = new Map<number, NameTable>();
  const found = new Map<string, BtfType[]>();
  lookups.set(spec, (name, kind) => {
    const family = kindFamily(kindNumbers[kind]);
    const key = `${family}\0${name}`;
    let list = found.get(key);
    if (list !== undefined) return list;
    let table = tables.get(family);
    if (table === undefined) {
      table = hashNames(view, le, stringSection, offsets, kinds, family);
      tables.set(family, table);
    }
    const wanted = rootHash(Buffer.from(name, "utf8"), 0);
    list = [];
    for (let at = table.heads[wanted & bucketMask]!; at >= 0; at = table.next[at]!) {
      if (table.hashes[at] !== wanted) continue;
      const type = typeAt(table.indexes[at]!);
      if (type.name === name || type.name.startsWith(`${name}___`)) list.push(type);
    }
    found.set(key, list);
    return list;
  });
  return spec;
}

const utf8 = new TextDecoder("utf-8");

// parseBtfStrings decodes the whole section up front (2-3 MB in a kernel) to make each of the
// ~127k lookups of a full parse cheap; a lazy spec looks up a few hundred names, so each is
// decoded where it lies, with the same checks.
function lazyStrings(section: Uint8Array): BtfStrings {
  const { length } = section;
  return {
    length,
    get(offset) {
      if (!Number.isInteger(offset) || offset < 0 || offset >= length) {
        throw new FormatError(`string offset ${offset} is out of range (string section is ${length} bytes)`);
      }
      const end = section.indexOf(0, offset);
      if (end < 0) throw new FormatError(`string at offset ${offset} is not NUL-terminated inside the string section`);
      return utf8.decode(section.subarray(offset, end));
    },
  };
}

const underscore = 0x5f;
const bucketBits = 14;
const bucketMask = (1 << bucketBits) - 1;

const kindNumbers = Object.fromEntries(
  Object.entries(btfKindNames).map(([number, name]) => [name, Number(number)]),
) as Record<BtfKindName, number>;

// The kinds a CO-RE candidate of a kind may have (libbpf's btf_kind_core_compat): ENUM and ENUM64 are one family.
function kindFamily(kind: number): number {
  return kind === BtfKind.Enum64 ? BtfKind.Enum : kind;
}

interface NameTable {
  /** Type indexes (id - 1) of the family's named types, in id order. */
  indexes: Int32Array;
  hashes: Int32Array;
  heads: Int32Array;
  next: Int32Array;
}

// One hash per named type of the family, of its name up to the first `___`: every type named `name`
// or `name___<anything>` hashes as `name`'s own root does. Types are chained per hash bucket in id
// order, so a lookup visits only its bucket; the few that hash alike are decoded and compared.
function hashNames(
  view: DataView,
  le: boolean,
  section: Uint8Array,
  offsets: Uint32Array,
  kinds: Uint8Array,
  family: number,
): NameTable {
  const members: number[] = [];
  for (let index = 0; index < kinds.length; index++) {
    if (kindFamily(kinds[index]!) === family && view.getUint32(offsets[index]!, le) !== 0) members.push(index);
  }
  const size = members.length;
  const indexes = Int32Array.from(members);
  const hashes = new Int32Array(size);
  const heads = new Int32Array(1 << bucketBits).fill(-1);
  const next = new Int32Array(size);
  // From the last id down, so each chain lists its types in id order.
  for (let at = size - 1; at >= 0; at--) {
    const hash = rootHash(section, view.getUint32(offsets[indexes[at]!]!, le));
    hashes[at] = hash;
    next[at] = heads[hash & bucketMask]!;
    heads[hash & bucketMask] = at;
  }
  return { indexes, hashes, heads, next };
}

// FNV-1a of the bytes at `start` up to a NUL, the first `___`, or the end of `bytes`.
function rootHash(bytes: Uint8Array, start: number): number {
  let hash = 0x811c9dc5;
  for (let at = start; at < bytes.length; at++) {
    const byte = bytes[at]!;
    if (byte === 0 || (byte === underscore && bytes[at + 1] === underscore && bytes[at + 2] === underscore)) break;
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  return hash;
}

/**
 * When CO-RE candidates are looked up on a spec from openBtf: the types of `kind`'s family (ENUM
 * and ENUM64 are one) named `name` or `name___<anything>`, in id order, found without decoding the
 * others; undefined for a spec parseBtf decoded whole, whose types the caller can index itself.
 */
export function typesNamedLike(spec: BtfSpec, name: string, kind: BtfKindName): BtfType[] | undefined {
  return lookups.get(spec)?.(name, kind);
}
