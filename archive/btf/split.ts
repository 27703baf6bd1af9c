// Split BTF (a kernel module's, `pahole --btf_base`) joined to its base into one standalone BTF.
// A split BTF's type ids continue after its base's last id and its string offsets after its
// base's string section, so placing its types after the base's and its strings after the base's
// renumbers nothing: the join is two concatenations and a new header. That is what lets btfmill's
// one-pass reader check a module, and what one module merged into a kernel's BTF looks like.
import { FormatError } from "../errors.ts";
import { allocateBtf, parseBtfHeader, writtenHeaderLength } from "./header.ts";
import { countTypes, forEachTypeRecord } from "./parse.ts";

/** When a module's split BTF is read or merged: base and split as one BTF, ids and offsets unchanged. */
export function joinSplitBtf(base: Uint8Array, split: Uint8Array): Buffer {
  const baseHeader = parseBtfHeader(base);
  const splitHeader = parseBtfHeader(split, { split: true });
  if (baseHeader.littleEndian !== splitHeader.littleEndian) {
    throw new FormatError("the split BTF and its base differ in byte order: it was not made from this base");
  }
  const le = baseHeader.littleEndian;
  const typeLength = baseHeader.typeLength + splitHeader.typeLength;
  const stringLength = baseHeader.stringLength + splitHeader.stringLength;
  const joined = allocateBtf(typeLength, stringLength, le);
  let at = writtenHeaderLength;
  for (const [bytes, start, length] of [
    [base, baseHeader.typeStart, baseHeader.typeLength],
    [split, splitHeader.typeStart, splitHeader.typeLength],
    [base, baseHeader.stringStart, baseHeader.stringLength],
    [split, splitHeader.stringStart, splitHeader.stringLength],
  ] as const) {
    joined.set(bytes.subarray(start, start + length), at);
    at += length;
  }
  return joined;
}

/**
 * When a kernel's modules are searched for a type: the names of the split's own named types
 * (each once), read from the record headers without decoding the types. Names may sit in the
 * base's strings (pahole shares them), so `base` is needed to read them.
 */
export function splitTypeNames(base: Uint8Array, split: Uint8Array): Set<string> {
  const baseHeader = parseBtfHeader(base);
  const splitHeader = parseBtfHeader(split, { split: true });
  const view = new DataView(split.buffer, split.byteOffset, split.byteLength);
  const le = splitHeader.littleEndian;
  const baseStrings = base.subarray(baseHeader.stringStart, baseHeader.stringStart + baseHeader.stringLength);
  const ownStrings = split.subarray(splitHeader.stringStart, splitHeader.stringStart + splitHeader.stringLength);
  const names = new Set<string>();
  forEachTypeRecord(view, splitHeader, countTypes(view, splitHeader), (_id, offset) => {
    const nameOffset = view.getUint32(offset, le);
    if (nameOffset === 0) return;
    const [section, at] =
      nameOffset < baseStrings.length ? [baseStrings, nameOffset] : [ownStrings, nameOffset - baseStrings.length];
    const end = section.indexOf(0, at);
    if (at >= section.length || end < 0)
      throw new FormatError(`split BTF type at offset ${offset} has name offset ${nameOffset} outside the strings`);
    names.add(utf8.decode(section.subarray(at, end)));
  });
  return names;
}

const utf8 = new TextDecoder("utf-8");
