// Several kernel modules' split BTF merged with their common base into one standalone BTF: what
// libbpf's btf_custom_path and cilium/ebpf's KernelTypes take, and what `bpftool gen
// min_core_btf` (which reads no split BTF) minifies. Each split continues its base's ids and
// strings, so the first one placed after the base keeps every number (joinSplitBtf); each further
// split lands after the ones before it, so its own type ids (those past the base's last) move up
// by the types appended before it, and its own string offsets (those past the base's strings) by
// the string bytes appended before it. References into the base keep their numbers.
// Wire layout: include/uapi/linux/btf.h; libbpf's btf_type_visit_type_ids and
// btf_type_visit_str_offs list the same fields per kind.
import { FormatError } from "../errors.ts";
import { allocateBtf, parseBtfHeader, writtenHeaderLength, type BtfHeader } from "./header.ts";
import { BtfKind } from "./kinds.ts";
import { countTypes, trailingSize } from "./parse.ts";

const recordSize = 12;

export interface SplitBtf {
  /** What the error names when this split does not fit the base (a module's name). */
  name: string;
  bytes: Uint8Array;
}

/** Where one split's types sit in a merged BTF: ids `firstId` to `lastId`, both included. */
export interface MergedPart {
  name: string;
  firstId: number;
  lastId: number;
}

export interface MergedBtf {
  bytes: Buffer;
  /** The base's last type id: ids up to it are the base's. */
  baseLastId: number;
  /** In merge order. */
  parts: MergedPart[];
}

/** When module types must sit in one file with the kernel's: base and splits, in `splits`' order, as one standalone BTF. */
export function mergeSplitBtf(base: Uint8Array, splits: readonly SplitBtf[]): MergedBtf {
  const baseHeader = parseBtfHeader(base);
  const le = baseHeader.littleEndian;
  const baseLastId = countTypes(viewOf(base), baseHeader);
  const headers = splits.map((split) => {
    const header = describeFailure(split, () => parseBtfHeader(split.bytes, { split: true }));
    if (header.littleEndian !== le) {
      throw new FormatError(
        `split BTF ${split.name} and its base differ in byte order: it was not made from this base`,
      );
    }
    return { header, count: describeFailure(split, () => countTypes(viewOf(split.bytes), header)) };
  });
  const typeLength = headers.reduce((sum, { header }) => sum + header.typeLength, baseHeader.typeLength);
  const stringLength = headers.reduce((sum, { header }) => sum + header.stringLength, baseHeader.stringLength);
  const merged = allocateBtf(typeLength, stringLength, le);
  const view = viewOf(merged);

  let typeAt = writtenHeaderLength;
  let stringAt = writtenHeaderLength + typeLength;
  const copy = (bytes: Uint8Array, start: number, length: number, at: number) => {
    merged.set(bytes.subarray(start, start + length), at);
    return at + length;
  };
  typeAt = copy(base, baseHeader.typeStart, baseHeader.typeLength, typeAt);
  stringAt = copy(base, baseHeader.stringStart, baseHeader.stringLength, stringAt);
  const parts: MergedPart[] = [];
  let idShift = 0;
  let stringShift = 0;
  for (const [index, split] of splits.entries()) {
    const { header, count } = headers[index]!;
    const start = typeAt;
    typeAt = copy(split.bytes, header.typeStart, header.typeLength, typeAt);
    stringAt = copy(split.bytes, header.stringStart, header.stringLength, stringAt);
    const limits = { baseLastId, lastId: baseLastId + count, baseStrings: baseHeader.stringLength, header };
    describeFailure(split, () => renumber(view, le, start, count, limits, { ids: idShift, strings: stringShift }));
    parts.push({ name: split.name, firstId: baseLastId + idShift + 1, lastId: baseLastId + idShift + count });
    idShift += count;
    stringShift += header.stringLength;
  }
  return { bytes: merged, baseLastId, parts };
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function describeFailure<T>(split: SplitBtf, read: () => T): T {
  try {
    return read();
  } catch (cause) {
    if (!(cause instanceof FormatError)) throw cause;
    throw new FormatError(`split BTF ${split.name}: ${cause.message}`, {
      cause,
      hint: "a module's split BTF merges only with the kernel BTF it was made against",
    });
  }
}

interface Limits {
  baseLastId: number;
  /** The split's last id as written, before any shift. */
  lastId: number;
  baseStrings: number;
  header: BtfHeader;
}

// Rewrites, in place, the `count` records copied to `start`: every type id past the base's and
// every string offset past the base's strings moves by `shift`; each is checked to fall inside
// the split first, so a split made against another base fails here instead of pointing anywhere.
function renumber(
  view: DataView,
  le: boolean,
  start: number,
  count: number,
  limits: Limits,
  shift: { ids: number; strings: number },
): void {
  const stringEnd = limits.baseStrings + limits.header.stringLength;
  let id = limits.baseLastId;
  const typeRef = (at: number, what: string) => {
    const value = view.getUint32(at, le);
    if (value <= limits.baseLastId) return;
    if (value > limits.lastId)
      throw new FormatError(`type [${id}] ${what} refers to type [${value}] but the last type is [${limits.lastId}]`);
    view.setUint32(at, value + shift.ids, le);
  };
  const name = (at: number, what: string) => {
    const value = view.getUint32(at, le);
    if (value < limits.baseStrings) return;
    if (value >= stringEnd)
      throw new FormatError(`type [${id}] ${what} has string offset ${value} past the strings' end ${stringEnd}`);
    view.setUint32(at, value + shift.strings, le);
  };
  let at = start;
  for (let index = 0; index < count; index++) {
    id++;
    const info = view.getUint32(at + 4, le);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const data = at + recordSize;
    name(at, "name");
    switch (kind) {
      case BtfKind.Ptr:
      case BtfKind.Typedef:
      case BtfKind.Volatile:
      case BtfKind.Const:
      case BtfKind.Restrict:
      case BtfKind.Func:
      case BtfKind.FuncProto:
      case BtfKind.Var:
      case BtfKind.DeclTag:
      case BtfKind.TypeTag:
        typeRef(at + 8, "type");
        break;
    }
    switch (kind) {
      case BtfKind.Array:
        typeRef(data, "element type");
        typeRef(data + 4, "index type");
        break;
      case BtfKind.Struct:
      case BtfKind.Union:
        for (let member = 0; member < vlen; member++) {
          name(data + member * 12, `member ${member} name`);
          typeRef(data + member * 12 + 4, `member ${member}`);
        }
        break;
      case BtfKind.Enum:
        for (let value = 0; value < vlen; value++) name(data + value * 8, `value ${value} name`);
        break;
      case BtfKind.Enum64:
        for (let value = 0; value < vlen; value++) name(data + value * 12, `value ${value} name`);
        break;
      case BtfKind.FuncProto:
        for (let param = 0; param < vlen; param++) {
          name(data + param * 8, `parameter ${param} name`);
          typeRef(data + param * 8 + 4, `parameter ${param}`);
        }
        break;
      case BtfKind.Datasec:
        for (let variable = 0; variable < vlen; variable++) typeRef(data + variable * 12, `variable ${variable}`);
        break;
    }
    at = data + trailingSize(kind, vlen);
  }
}
