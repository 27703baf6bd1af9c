// Where a vmlinux's `.BTF` section lies in the file, known before the vmlinux's end: the linker
// brackets it with `__start_BTF`/`__stop_BTF` (System.map gives their addresses) and the program
// headers, right after the ELF header at the file's start, map a loaded address to its file
// offset. The section headers would say the same, but they sit at the vmlinux's very end, and
// the point is to stop decoding long before it (docs/performance.md). Layouts: the System V gABI,
// "ELF Header" and "Program Header".

/** The `.BTF` section's load addresses, from System.map. */
export interface BtfSymbols {
  start: bigint;
  stop: bigint;
}

/** The `.BTF` section's place in the vmlinux file. */
export interface BtfWindow {
  offset: number;
  size: number;
}

// No kernel's BTF comes near this; a larger window is a damaged System.map, not a section to buffer.
const maxBtfBytes = 256 * 1024 * 1024;
const loadSegment = 1; // PT_LOAD
/** An ELF64 header's size: fewer bytes cannot tell where the program headers are. */
export const elfHeaderBytes = 64;
const btfMagic = 0xeb9f;
const btfHeaderBytes = 24; // magic, version, flags, hdr_len, type_off, type_len, str_off, str_len

/** When System.map is read: the two symbols, or undefined when the kernel was built without BTF. */
export function btfSymbols(systemMap: string): BtfSymbols | undefined {
  const start = /^([0-9a-f]+) \S+ __start_BTF$/m.exec(systemMap);
  const stop = /^([0-9a-f]+) \S+ __stop_BTF$/m.exec(systemMap);
  if (start === null || stop === null) return undefined;
  const symbols = { start: BigInt(`0x${start[1]}`), stop: BigInt(`0x${stop[1]}`) };
  const size = symbols.stop - symbols.start;
  return size > 0n && size <= BigInt(maxBtfBytes) ? symbols : undefined;
}

/** How many of the vmlinux's first bytes `btfWindow` needs (given `elfHeaderBytes`); undefined for no 64-bit ELF. */
export function programHeadersEnd(head: Buffer): number | undefined {
  const elf = elf64(head);
  return elf === undefined ? undefined : elf.tableOffset + elf.entrySize * elf.count;
}

/**
 * When the vmlinux's first `programHeadersEnd` bytes are in: the section's file offset and size,
 * or undefined when no PT_LOAD segment holds the whole of it (or the file is not a 64-bit ELF).
 */
export function btfWindow(head: Buffer, symbols: BtfSymbols): BtfWindow | undefined {
  const elf = elf64(head);
  if (elf === undefined || head.length < elf.tableOffset + elf.entrySize * elf.count) return undefined;
  for (let index = 0; index < elf.count; index++) {
    const at = elf.tableOffset + index * elf.entrySize;
    if (elf.u32(at) !== loadSegment) continue;
    const offset = elf.u64(at + 8);
    const address = elf.u64(at + 16);
    const fileSize = elf.u64(at + 32);
    if (symbols.start < address || symbols.stop > address + fileSize) continue;
    const start = offset + (symbols.start - address);
    if (start > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return { offset: Number(start), size: Number(symbols.stop - symbols.start) };
  }
  return undefined;
}

/** When the window's bytes are cut out: whether they read as one whole BTF blob (header magic, lengths adding up). */
export function looksLikeBtf(section: Buffer): boolean {
  if (section.length < btfHeaderBytes) return false;
  const littleEndian = section.readUInt16LE(0) === btfMagic;
  if (!littleEndian && section.readUInt16BE(0) !== btfMagic) return false;
  const u32 = (at: number) => (littleEndian ? section.readUInt32LE(at) : section.readUInt32BE(at));
  const headerLength = u32(4);
  const typesEnd = headerLength + u32(8) + u32(12);
  const stringsEnd = headerLength + u32(16) + u32(20);
  return headerLength >= btfHeaderBytes && Math.max(typesEnd, stringsEnd) === section.length;
}

function elf64(head: Buffer) {
  // e_ident: "\x7fELF", class 2 (64-bit), data 1 (LE) or 2 (BE); the header is 64 bytes.
  if (head.length < elfHeaderBytes || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return undefined;
  const littleEndian = head[5] === 1;
  if (!littleEndian && head[5] !== 2) return undefined;
  const u16 = (at: number) => (littleEndian ? head.readUInt16LE(at) : head.readUInt16BE(at));
  const u32 = (at: number) => (littleEndian ? head.readUInt32LE(at) : head.readUInt32BE(at));
  const u64 = (at: number) => (littleEndian ? head.readBigUInt64LE(at) : head.readBigUInt64BE(at));
  const tableOffset = u64(32);
  const entrySize = u16(54);
  const count = u16(56);
  // A program header table past the first MiB, or entries too short to hold a PT_LOAD, is no vmlinux's.
  if (tableOffset === 0n || tableOffset > 1024n * 1024n || entrySize < 56 || count === 0) return undefined;
  return { tableOffset: Number(tableOffset), entrySize, count, u32, u64 };
}
