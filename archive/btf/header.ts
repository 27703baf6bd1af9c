// The fixed header in front of every BTF blob: byte order, version and where the type and string
// sections sit. Layout: struct btf_header in include/uapi/linux/btf.h.
import { FormatError } from "../errors.ts";

const magic = 0xeb9f;
const minHeaderLength = 24;
/** The header btfmill writes: version 1, no flags, the type section right after it, the strings after the types. */
export const writtenHeaderLength = minHeaderLength;

export interface BtfHeader {
  littleEndian: boolean;
  version: number;
  flags: number;
  /** Bytes before the sections; 24 today, larger headers carry fields this reader skips. */
  headerLength: number;
  /** Offsets below are absolute in the blob (the wire counts them from the end of the header). */
  typeStart: number;
  typeLength: number;
  stringStart: number;
  stringLength: number;
}

/**
 * When a BTF blob is opened: reads and checks the header before any type is decoded. `split`
 * reads a split BTF (a module's), whose strings continue its base's, so its section may start
 * mid-string.
 */
export function parseBtfHeader(bytes: Uint8Array, options: { split?: boolean } = {}): BtfHeader {
  if (bytes.length < minHeaderLength) {
    throw new FormatError(`BTF header truncated: ${bytes.length} bytes, need at least ${minHeaderLength}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rawMagic = view.getUint16(0, true);
  // A big-endian producer (s390x, bpfeb) writes the same magic, which reads byte-swapped here.
  const littleEndian = rawMagic === magic;
  if (!littleEndian && rawMagic !== 0x9feb) {
    throw new FormatError(`not BTF: magic 0x${rawMagic.toString(16).padStart(4, "0")} at offset 0, expected 0xeb9f`);
  }
  const version = view.getUint8(2);
  if (version !== 1) throw new FormatError(`BTF version ${version} at offset 2 is not supported (only version 1)`);

  const headerLength = view.getUint32(4, littleEndian);
  if (headerLength < minHeaderLength) {
    throw new FormatError(`BTF hdr_len ${headerLength} at offset 4 is shorter than the ${minHeaderLength}-byte header`);
  }
  if (headerLength > bytes.length) {
    throw new FormatError(`BTF hdr_len ${headerLength} at offset 4 extends beyond the ${bytes.length}-byte blob`);
  }
  const header: BtfHeader = {
    littleEndian,
    version,
    flags: view.getUint8(3),
    headerLength,
    typeStart: headerLength + view.getUint32(8, littleEndian),
    typeLength: view.getUint32(12, littleEndian),
    stringStart: headerLength + view.getUint32(16, littleEndian),
    stringLength: view.getUint32(20, littleEndian),
  };
  checkSections(header, bytes, options.split === true);
  return header;
}

function checkSections(header: BtfHeader, bytes: Uint8Array, split: boolean): void {
  const { typeStart, typeLength, stringStart, stringLength } = header;
  const typeEnd = typeStart + typeLength;
  const stringEnd = stringStart + stringLength;
  // The kernel's btf_parse_hdr rejects unaligned type sections; records are u32 words.
  if ((typeStart - header.headerLength) % 4 !== 0) {
    throw new FormatError(`BTF type_off ${typeStart - header.headerLength} is not 4-byte aligned`);
  }
  if (typeEnd > bytes.length) {
    throw new FormatError(`BTF type section [${typeStart}, ${typeEnd}) overruns the ${bytes.length}-byte blob`);
  }
  if (stringEnd > bytes.length) {
    throw new FormatError(`BTF string section [${stringStart}, ${stringEnd}) overruns the ${bytes.length}-byte blob`);
  }
  if (typeLength > 0 && typeStart < stringEnd && stringStart < typeEnd) {
    throw new FormatError(
      `BTF type section [${typeStart}, ${typeEnd}) overlaps string section [${stringStart}, ${stringEnd})`,
    );
  }
  // Offset 0 must name the empty string (anonymous types) and every string must end inside the
  // section, as libbpf's btf_parse_str_sec demands of a base (non-split) BTF.
  if (split) {
    if (stringLength > 0 && bytes[stringEnd - 1] !== 0)
      throw new FormatError(`split BTF string section does not end with NUL at offset ${stringEnd - 1}`);
    return;
  }
  if (stringLength === 0) throw new FormatError("BTF string section is empty: offset 0 must hold the empty string");
  if (bytes[stringStart] !== 0) {
    throw new FormatError(`BTF string section at offset ${stringStart} does not start with NUL`, {
      hint: "split BTF (a kernel module's) continues its base's strings and cannot be read alone",
    });
  }
  if (bytes[stringEnd - 1] !== 0) {
    throw new FormatError(`BTF string section does not end with NUL at offset ${stringEnd - 1}`);
  }
}

/**
 * When btfmill writes a BTF blob (a module joined or merged to its base): a buffer with its header
 * filled in, sized for `typeLength` bytes of types and then `stringLength` bytes of strings.
 */
export function allocateBtf(typeLength: number, stringLength: number, littleEndian: boolean): Buffer {
  const bytes = Buffer.alloc(writtenHeaderLength + typeLength + stringLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint16(0, magic, littleEndian);
  view.setUint8(2, 1);
  view.setUint8(3, 0);
  view.setUint32(4, writtenHeaderLength, littleEndian);
  view.setUint32(8, 0, littleEndian);
  view.setUint32(12, typeLength, littleEndian);
  view.setUint32(16, typeLength, littleEndian);
  view.setUint32(20, stringLength, littleEndian);
  return bytes;
}
