// Decodes a raw BTF blob into the model. Two passes: the first walks the 12-byte record headers to
// check the type section's framing and count the ids, so the second can check every type
// reference against the last id as it decodes. Wire layout: include/uapi/linux/btf.h.
import { FormatError } from "../errors.ts";
import { parseBtfHeader, type BtfHeader } from "./header.ts";
import { BtfKind, btfKindNames, isBtfKind } from "./kinds.ts";
import { parseBtfStrings, type BtfStrings } from "./strings.ts";
import {
  linkages,
  type BtfEnumValue,
  type BtfMember,
  type BtfParam,
  type BtfSpec,
  type BtfType,
  type BtfVarSecinfo,
  type Linkage,
} from "./types.ts";

/** Bytes of the fixed part of every type record. */
const recordSize = 12;
// kind bits 24-28, kind_flag bit 31, vlen bits 0-15; the kernel rejects anything else set.
const reservedInfoBits = 0x60ff0000;

/** When BTF bytes are in memory (a .btf file, an ELF's .BTF section): the decoded spec. */
export function parseBtf(bytes: Uint8Array): BtfSpec {
  const header = parseBtfHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const strings = parseBtfStrings(bytes.subarray(header.stringStart, header.stringStart + header.stringLength));
  const count = countTypes(view, header);
  const types = new Array<BtfType>(count);
  const reader = newTypeReader(view, header.littleEndian, strings, count);
  forEachTypeRecord(view, header, count, (id, offset, info) => {
    types[id - 1] = decodeType(reader, id, offset, info);
  });
  return { header, types };
}

/** When a type section is walked (its framing checked by countTypes): `visit` gets each type's id, record offset and info word. */
export function forEachTypeRecord(
  view: DataView,
  header: BtfHeader,
  count: number,
  visit: (id: number, offset: number, info: number) => void,
): void {
  let offset = header.typeStart;
  for (let id = 1; id <= count; id++) {
    const info = view.getUint32(offset + 4, header.littleEndian);
    visit(id, offset, info);
    offset += recordSize + trailingSize((info >>> 24) & 0x1f, info & 0xffff);
  }
}

/** When one type is decoded: its record, or a FormatError that says which type and where. */
export function decodeType(reader: TypeReader, id: number, offset: number, info: number): BtfType {
  try {
    return reader.read(id, offset, info);
  } catch (cause) {
    if (!(cause instanceof FormatError)) throw cause;
    const kind = btfKindNames[((info >>> 24) & 0x1f) as BtfKind];
    throw new FormatError(`type [${id}] ${kind} at offset ${offset}: ${cause.message}`, { cause });
  }
}

/** When a type section is opened: checks every record's framing and returns how many types it holds. */
export function countTypes(view: DataView, header: BtfHeader): number {
  return walkTypeRecords(view, header, undefined);
}

/**
 * When a type section is opened for lookups (lazy.ts): checks the framing as countTypes does and
 * returns each type's record offset and kind (index id - 1), in the same pass.
 */
export function typeRecords(view: DataView, header: BtfHeader): { offsets: Uint32Array; kinds: Uint8Array } {
  const most = Math.floor(header.typeLength / recordSize);
  const records = { offsets: new Uint32Array(most), kinds: new Uint8Array(most) };
  const count = walkTypeRecords(view, header, records);
  return { offsets: records.offsets.slice(0, count), kinds: records.kinds.slice(0, count) };
}

function walkTypeRecords(
  view: DataView,
  header: BtfHeader,
  records: { offsets: Uint32Array; kinds: Uint8Array } | undefined,
): number {
  const end = header.typeStart + header.typeLength;
  let offset = header.typeStart;
  let id = 0;
  while (offset < end) {
    if (end - offset < recordSize) {
      throw new FormatError(
        `${end - offset} trailing bytes at offset ${offset} after type [${id}], too few for a type record ` +
          `(type section ends at ${end})`,
      );
    }
    const info = view.getUint32(offset + 4, header.littleEndian);
    const kind = (info >>> 24) & 0x1f;
    if (records !== undefined) {
      records.offsets[id] = offset;
      records.kinds[id] = kind;
    }
    id++;
    if (!isBtfKind(kind)) {
      throw new FormatError(`type [${id}] at offset ${offset} has unknown kind ${kind} (info 0x${info.toString(16)})`);
    }
    if ((info & reservedInfoBits) !== 0) {
      throw new FormatError(
        `type [${id}] ${btfKindNames[kind]} at offset ${offset} sets reserved info bits (info 0x${info.toString(16)})`,
      );
    }
    const next = offset + recordSize + trailingSize(kind, info & 0xffff);
    if (next > end) {
      throw new FormatError(
        `type [${id}] ${btfKindNames[kind]} at offset ${offset} is truncated: it needs ${next - offset} bytes, ` +
          `the type section ends at ${end}`,
      );
    }
    offset = next;
  }
  return id;
}

/** Bytes that follow the 12-byte record, by kind. */
export function trailingSize(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.Int:
    case BtfKind.Var:
    case BtfKind.DeclTag:
      return 4;
    case BtfKind.Array:
      return 12;
    case BtfKind.Struct:
    case BtfKind.Union:
    case BtfKind.Datasec:
    case BtfKind.Enum64:
      return vlen * 12;
    case BtfKind.Enum:
    case BtfKind.FuncProto:
      return vlen * 8;
    default:
      return 0;
  }
}

export interface TypeReader {
  read(id: number, offset: number, info: number): BtfType;
}

/** When types are decoded: reads the record of type `id` at `offset`, checking its references against `lastId`. */
export function newTypeReader(view: DataView, le: boolean, strings: BtfStrings, lastId: number): TypeReader {
  const u32 = (at: number) => view.getUint32(at, le);
  const nameAt = (at: number) => strings.get(view.getUint32(at, le));
  const ref = (at: number, what: string) => {
    const id = view.getUint32(at, le);
    if (id > lastId) throw new FormatError(`${what} refers to type [${id}] but the last type is [${lastId}]`);
    return id;
  };
  const linkage = (value: number): Linkage => {
    const found = linkages[value];
    if (found === undefined) throw new FormatError(`unknown linkage ${value}`);
    return found;
  };
  const members = (at: number, vlen: number, kindFlag: boolean): BtfMember[] => {
    const list = new Array<BtfMember>(vlen);
    for (let i = 0; i < vlen; i++, at += 12) {
      const raw = u32(at + 8);
      list[i] = {
        name: nameAt(at),
        type: ref(at + 4, `member ${i}`),
        bitOffset: kindFlag ? raw & 0xffffff : raw,
        bitfieldSize: kindFlag ? raw >>> 24 : 0,
      };
    }
    return list;
  };

  return {
    read(id, offset, info) {
      const kind = ((info >>> 24) & 0x1f) as BtfKind;
      const vlen = info & 0xffff;
      const kindFlag = info >>> 31 === 1;
      const name = nameAt(offset);
      const sizeOrType = offset + 8;
      const data = offset + recordSize;
      switch (kind) {
        case BtfKind.Int: {
          const raw = u32(data);
          const size = u32(sizeOrType);
          const encoding = raw >>> 24;
          return { id, name, kind: "INT", size, encoding, bitOffset: (raw >>> 16) & 0xff, bits: raw & 0xff };
        }
        case BtfKind.Ptr:
        case BtfKind.Typedef:
        case BtfKind.Volatile:
        case BtfKind.Const:
        case BtfKind.Restrict:
          return { id, name, kind: btfKindNames[kind], type: ref(sizeOrType, "type") };
        case BtfKind.Array: {
          const type = ref(data, "element type");
          return { id, name, kind: "ARRAY", type, indexType: ref(data + 4, "index type"), nelems: u32(data + 8) };
        }
        case BtfKind.Struct:
        case BtfKind.Union:
          return { id, name, kind: btfKindNames[kind], size: u32(sizeOrType), members: members(data, vlen, kindFlag) };
        case BtfKind.Enum: {
          const values = new Array<BtfEnumValue<number>>(vlen);
          for (let i = 0, at = data; i < vlen; i++, at += 8) {
            values[i] = { name: nameAt(at), value: kindFlag ? view.getInt32(at + 4, le) : u32(at + 4) };
          }
          return { id, name, kind: "ENUM", size: u32(sizeOrType), signed: kindFlag, values };
        }
        case BtfKind.Fwd:
          return { id, name, kind: "FWD", fwdKind: kindFlag ? "union" : "struct" };
        case BtfKind.Func:
          return { id, name, kind: "FUNC", type: ref(sizeOrType, "prototype"), linkage: linkage(vlen) };
        case BtfKind.FuncProto: {
          const params = new Array<BtfParam>(vlen);
          for (let i = 0, at = data; i < vlen; i++, at += 8) {
            params[i] = { name: nameAt(at), type: ref(at + 4, `parameter ${i}`) };
          }
          return { id, name, kind: "FUNC_PROTO", returnType: ref(sizeOrType, "return type"), params };
        }
        case BtfKind.Var:
          return { id, name, kind: "VAR", type: ref(sizeOrType, "type"), linkage: linkage(u32(data)) };
        case BtfKind.Datasec: {
          const vars = new Array<BtfVarSecinfo>(vlen);
          for (let i = 0, at = data; i < vlen; i++, at += 12) {
            vars[i] = { type: ref(at, `variable ${i}`), offset: u32(at + 4), size: u32(at + 8) };
          }
          return { id, name, kind: "DATASEC", size: u32(sizeOrType), vars };
        }
        case BtfKind.Float:
          return { id, name, kind: "FLOAT", size: u32(sizeOrType) };
        case BtfKind.DeclTag: {
          const type = ref(sizeOrType, "tagged type");
          return { id, name, kind: "DECL_TAG", type, componentIdx: view.getInt32(data, le), attribute: kindFlag };
        }
        case BtfKind.TypeTag:
          return { id, name, kind: "TYPE_TAG", type: ref(sizeOrType, "type"), attribute: kindFlag };
        case BtfKind.Enum64: {
          const values = new Array<BtfEnumValue<bigint>>(vlen);
          for (let i = 0, at = data; i < vlen; i++, at += 12) {
            const raw = (BigInt(u32(at + 8)) << 32n) | BigInt(u32(at + 4));
            values[i] = { name: nameAt(at), value: kindFlag ? BigInt.asIntN(64, raw) : raw };
          }
          return { id, name, kind: "ENUM64", size: u32(sizeOrType), signed: kindFlag, values };
        }
      }
    },
  };
}
