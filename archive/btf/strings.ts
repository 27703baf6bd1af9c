// The BTF string section: NUL-terminated names addressed by byte offset. Offsets may point into
// the middle of a string (pahole shares suffixes), so any offset below the length is legal as long
// as a NUL follows it inside the section.
import { Buffer, isAscii } from "node:buffer";
import { FormatError } from "../errors.ts";

export interface BtfStrings {
  readonly length: number;
  /** The string at `offset`; throws FormatError when it is out of range or unterminated. */
  get(offset: number): string;
}

const utf8 = new TextDecoder("utf-8");

/** When a BTF blob is parsed: wraps its string section (`section` holds exactly its bytes). */
export function parseBtfStrings(section: Uint8Array): BtfStrings {
  const length = section.length;
  // Kernel names are ASCII: decoding the section once keeps each lookup a cheap slice, and byte
  // offsets equal string indexes. Anything else falls back to decoding each name on its own.
  const text = isAscii(section)
    ? Buffer.from(section.buffer, section.byteOffset, length).toString("latin1")
    : undefined;
  return {
    length,
    get(offset) {
      if (!Number.isInteger(offset) || offset < 0 || offset >= length) {
        throw new FormatError(`string offset ${offset} is out of range (string section is ${length} bytes)`);
      }
      const end = text === undefined ? section.indexOf(0, offset) : text.indexOf("\0", offset);
      if (end < 0) throw new FormatError(`string at offset ${offset} is not NUL-terminated inside the string section`);
      return text === undefined ? utf8.decode(section.subarray(offset, end)) : text.slice(offset, end);
    },
  };
}
