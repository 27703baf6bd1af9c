// Hand-assembled BTF blobs for tests that need a record no compiler would emit: each test builds
// a small valid blob, then breaks one field.

export interface RawBtf {
  /** The whole string section, e.g. "\0int\0". */
  strings: string;
  /** The type section as u32 words. */
  types: number[];
  bigEndian?: boolean;
  headerLength?: number;
}

/** When a test needs BTF bytes: header, then the type section, then the string section. */
export function btfBytes({ strings, types, bigEndian = false, headerLength = 24 }: RawBtf): Uint8Array {
  const stringBytes = new TextEncoder().encode(strings);
  const typeLength = types.length * 4;
  const bytes = new Uint8Array(headerLength + typeLength + stringBytes.length);
  const view = new DataView(bytes.buffer);
  const le = !bigEndian;
  view.setUint16(0, 0xeb9f, le);
  view.setUint8(2, 1);
  view.setUint32(4, headerLength, le);
  view.setUint32(8, 0, le);
  view.setUint32(12, typeLength, le);
  view.setUint32(16, typeLength, le);
  view.setUint32(20, stringBytes.length, le);
  types.forEach((word, index) => view.setUint32(headerLength + index * 4, word >>> 0, le));
  bytes.set(stringBytes, headerLength + typeLength);
  return bytes;
}

/** When a test writes a type record: the info word for `kind` with `vlen` entries. */
export function info(kind: number, vlen = 0, kindFlag = false): number {
  return ((kindFlag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;
}

/** When a test needs a name_off: where `name` starts in `strings`. */
export function nameOffset(strings: string, name: string): number {
  const at = strings.indexOf(`\0${name}\0`);
  if (at < 0) throw new Error(`"${name}" is not in the test's string section`);
  return at + 1;
}

/** When a test needs to break one header field: overwrites the u32 at `offset`. */
export function setU32(bytes: Uint8Array, offset: number, value: number, bigEndian = false): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(offset, value, !bigEndian);
  return bytes;
}
