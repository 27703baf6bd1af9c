// Reads single sections out of an ELF file (a vmlinux, a BPF object) with positioned reads: only
// the ELF header, the section header table, the section-name table and the asked-for section are
// read, never the whole 600 MB file. Layouts: the System V gABI, "ELF Header" and "Sections".
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { promisify } from "node:util";
import { inflate, zstdDecompress } from "node:zlib";
import { FormatError } from "./errors.ts";

const sectionNoBits = 8; // SHT_NOBITS: occupies no bytes in the file (.bss)
const flagCompressed = 0x800; // SHF_COMPRESSED: data starts with an Elf_Chdr
const extendedIndex = 0xffff; // SHN_XINDEX: the real e_shstrndx is in section 0's sh_link
// A vmlinux has a few dozen sections and an object built with -ffunction-sections some 10^5;
// a larger table is garbage, and reading it would only waste memory.
const maxSectionTableBytes = 16 << 20;
const decompressors = { 1: promisify(inflate), 2: promisify(zstdDecompress) } as const; // ELFCOMPRESS_*

interface ElfHeader {
  is64: boolean;
  littleEndian: boolean;
  /** e_machine: 62 x86-64, 183 AArch64, 247 BPF. */
  machine: number;
  /** e_shoff; 0 when the file has no section header table. */
  tableOffset: number;
  entrySize: number;
  /** e_shnum and e_shstrndx as stored, before extended numbering is resolved. */
  count: number;
  namesIndex: number;
}

interface SectionHeader {
  nameOffset: number;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
}

interface ElfSection extends SectionHeader {
  name: string;
}

interface Elf {
  header: ElfHeader;
  sections: ElfSection[];
}

/** When a stage needs one section's bytes (`.BTF` of a vmlinux or BPF object): undefined if absent. */
export async function readElfSection(path: string, name: string): Promise<Buffer | undefined> {
  return withElf(path, async (handle, elf) => {
    const section = elf.sections.find((candidate) => candidate.name === name);
    if (section === undefined) return undefined;
    if (section.type === sectionNoBits) return Buffer.alloc(0);
    const data = await readAt(handle, section.offset, section.size, `section ${name}`);
    return (section.flags & flagCompressed) === 0 ? data : decompressSection(data, name, elf.header);
  });
}

/** When only the presence of a section matters. */
export async function hasElfSection(path: string, name: string): Promise<boolean> {
  return withElf(path, async (_handle, elf) => elf.sections.some((section) => section.name === name));
}

/** When a BPF object is registered: its e_machine, so anything but EM_BPF (247) is refused by name. */
export async function readElfMachine(path: string): Promise<number> {
  return withElf(path, async (_handle, elf) => elf.header.machine);
}

/** Before running pahole: whether the ELF carries DWARF for it to convert. */
export async function hasDwarf(path: string): Promise<boolean> {
  // `.zdebug_info` is the pre-gABI GNU spelling of a zlib-compressed `.debug_info`.
  return withElf(path, async (_handle, elf) =>
    elf.sections.some((section) => section.name === ".debug_info" || section.name === ".zdebug_info"),
  );
}

const sectionSymbolTable = 2; // SHT_SYMTAB
const symbolFunction = 2; // STT_FUNC, the low nibble of st_info

/** A function symbol: in a BPF object, one program or subprogram of its section. */
export interface ElfFunction {
  name: string;
  section: string;
  /** st_value and st_size: where in the section the function's instructions lie, in bytes. */
  offset: number;
  size: number;
}

/** When a BPF object is read: its function symbols, so a relocation can be told by program, not only by section. */
export async function readElfFunctions(path: string): Promise<ElfFunction[]> {
  return withElf(path, async (handle, elf) => {
    const table = elf.sections.find((section) => section.type === sectionSymbolTable);
    const names = table === undefined ? undefined : elf.sections[table.link];
    if (table === undefined || names === undefined) return [];
    const { is64, littleEndian: le } = elf.header;
    const symbols = await readAt(handle, table.offset, table.size, "symbol table");
    const strings = await readAt(handle, names.offset, names.size, "symbol names");
    const entrySize = is64 ? 24 : 16; // Elf64_Sym, Elf32_Sym
    const view = new DataView(symbols.buffer, symbols.byteOffset, symbols.byteLength);
    const functions: ElfFunction[] = [];
    for (let at = 0; at + entrySize <= symbols.length; at += entrySize) {
      const info = view.getUint8(at + (is64 ? 4 : 12));
      const sectionIndex = view.getUint16(at + (is64 ? 6 : 14), le);
      const section = elf.sections[sectionIndex];
      if ((info & 0xf) !== symbolFunction || section === undefined) continue;
      const nameOffset = view.getUint32(at, le);
      const end = strings.indexOf(0, nameOffset);
      if (end < 0) throw new FormatError(`symbol at offset ${at} has a name past the symbol-name table`);
      functions.push({
        name: strings.toString("latin1", nameOffset, end),
        section: section.name,
        offset: is64 ? readU64(view, at + 8, le, "st_value") : view.getUint32(at + 4, le),
        size: is64 ? readU64(view, at + 16, le, "st_size") : view.getUint32(at + 8, le),
      });
    }
    return functions;
  });
}

async function withElf<T>(path: string, use: (handle: FileHandle, elf: Elf) => Promise<T>): Promise<T> {
  const handle = await open(path, "r");
  try {
    const fileSize = (await handle.stat()).size;
    const header = parseElfHeader(await readAt(handle, 0, Math.min(64, fileSize), "ELF header"), fileSize);
    return await use(handle, { header, sections: await readSections(handle, header, fileSize) });
  } catch (cause) {
    if (cause instanceof FormatError) throw new FormatError(`${path}: ${cause.message}`, { cause });
    throw cause;
  } finally {
    await handle.close();
  }
}

function parseElfHeader(bytes: Buffer, fileSize: number): ElfHeader {
  if (bytes.length < 16 || bytes.readUInt32BE(0) !== 0x7f454c46) {
    const found = bytes.subarray(0, 4).toString("hex") || "missing";
    throw new FormatError(`not an ELF file: bytes at offset 0 are ${found}, expected 7f454c46`);
  }
  const [elfClass, elfData] = [bytes[4], bytes[5]];
  if (elfClass !== 1 && elfClass !== 2) throw new FormatError(`unknown ELF class ${elfClass} at offset 4`);
  if (elfData !== 1 && elfData !== 2) throw new FormatError(`unknown ELF data encoding ${elfData} at offset 5`);
  const is64 = elfClass === 2;
  const le = elfData === 1;
  const headerSize = is64 ? 64 : 52;
  if (bytes.length < headerSize) {
    throw new FormatError(`ELF header truncated: file is ${fileSize} bytes, the header needs ${headerSize}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const counts = is64 ? 0x3a : 0x2e; // e_shentsize, e_shnum, e_shstrndx: three u16
  return {
    is64,
    littleEndian: le,
    machine: view.getUint16(0x12, le),
    tableOffset: is64 ? readU64(view, 0x28, le, "e_shoff") : view.getUint32(0x20, le),
    entrySize: view.getUint16(counts, le),
    count: view.getUint16(counts + 2, le),
    namesIndex: view.getUint16(counts + 4, le),
  };
}

async function readSections(handle: FileHandle, header: ElfHeader, fileSize: number): Promise<ElfSection[]> {
  const { is64, littleEndian, tableOffset, entrySize } = header;
  if (tableOffset === 0) return [];
  const minEntrySize = is64 ? 64 : 40;
  if (entrySize < minEntrySize) {
    throw new FormatError(`e_shentsize ${entrySize} is smaller than a ${minEntrySize}-byte section header`);
  }
  const firstBytes = await readAt(handle, tableOffset, entrySize, "section header 0", fileSize);
  const first = parseSectionHeader(firstBytes, is64, littleEndian);
  // Extended numbering (gABI): from 0xff00 sections on, the real counts live in section header 0.
  const count = header.count === 0 ? first.size : header.count;
  const namesIndex = header.namesIndex === extendedIndex ? first.link : header.namesIndex;
  const tableSize = count * entrySize;
  if (tableSize > maxSectionTableBytes) {
    throw new FormatError(`section header table of ${count} entries exceeds ${maxSectionTableBytes} bytes`);
  }
  const table = await readAt(handle, tableOffset, tableSize, "section header table", fileSize);
  const sections = Array.from({ length: count }, (_, index) =>
    parseSectionHeader(table.subarray(index * entrySize, (index + 1) * entrySize), is64, littleEndian),
  );
  for (const [index, section] of sections.entries()) {
    const end = section.offset + section.size;
    if (section.type !== sectionNoBits && end > fileSize) {
      throw new FormatError(`section ${index} [${section.offset}, ${end}) ${pastEnd(fileSize)}`);
    }
  }
  const names = await readSectionNames(handle, sections, namesIndex);
  return sections.map((section, index) => ({ ...section, name: sectionName(names, section.nameOffset, index) }));
}

function parseSectionHeader(bytes: Buffer, is64: boolean, le: boolean): SectionHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!is64) {
    return {
      nameOffset: view.getUint32(0, le),
      type: view.getUint32(4, le),
      flags: view.getUint32(8, le),
      offset: view.getUint32(16, le),
      size: view.getUint32(20, le),
      link: view.getUint32(24, le),
    };
  }
  return {
    nameOffset: view.getUint32(0, le),
    type: view.getUint32(4, le),
    // The gABI flags all sit in the low word; the high word is OS- and processor-specific.
    flags: view.getUint32(le ? 8 : 12, le),
    offset: readU64(view, 24, le, "sh_offset"),
    size: readU64(view, 32, le, "sh_size"),
    link: view.getUint32(40, le),
  };
}

async function readSectionNames(handle: FileHandle, sections: SectionHeader[], index: number): Promise<Buffer> {
  if (index === 0) return Buffer.alloc(0); // SHN_UNDEF: the file names no sections
  const table = sections[index];
  if (table === undefined) throw new FormatError(`e_shstrndx ${index} is past the ${sections.length} sections`);
  if (table.type === sectionNoBits) throw new FormatError(`section-name table (section ${index}) has no file data`);
  return readAt(handle, table.offset, table.size, "section-name table");
}

function sectionName(names: Buffer, offset: number, index: number): string {
  if (names.length === 0) return "";
  if (offset >= names.length) {
    throw new FormatError(`section ${index} name offset ${offset} is past the ${names.length}-byte section-name table`);
  }
  const end = names.indexOf(0, offset);
  if (end < 0) throw new FormatError(`section ${index} name at offset ${offset} is not NUL-terminated`);
  return names.toString("latin1", offset, end);
}

async function decompressSection(data: Buffer, name: string, header: ElfHeader): Promise<Buffer> {
  // Elf64_Chdr {u32 ch_type, u32 reserved, u64 ch_size, u64 ch_addralign}; Elf32_Chdr {u32 x3}.
  const chdrSize = header.is64 ? 24 : 12;
  if (data.length < chdrSize) throw new FormatError(`compressed section ${name} is shorter than its header`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = header.littleEndian;
  const type = view.getUint32(0, le);
  const size = header.is64 ? readU64(view, 8, le, "ch_size") : view.getUint32(4, le);
  const decompress = type === 1 || type === 2 ? decompressors[type] : undefined;
  if (decompress === undefined) throw new FormatError(`section ${name} uses unknown compression type ${type}`);
  let out: Buffer;
  try {
    // The header's size bounds the output, so a corrupt stream cannot balloon in memory.
    out = await decompress(data.subarray(chdrSize), { maxOutputLength: Math.max(size, 1) });
  } catch (cause) {
    throw new FormatError(`section ${name} does not decompress to its declared ${size} bytes`, { cause });
  }
  if (out.length !== size) {
    throw new FormatError(`section ${name} decompresses to ${out.length} bytes, its header says ${size}`);
  }
  return out;
}

function pastEnd(fileSize: number): string {
  return `lies beyond the end of the ${fileSize}-byte file`;
}

function readU64(view: DataView, at: number, le: boolean, field: string): number {
  const value = view.getBigUint64(at, le);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`${field} 0x${value.toString(16)} is too large`);
  return Number(value);
}

async function readAt(
  handle: FileHandle,
  position: number,
  length: number,
  what: string,
  fileSize?: number,
): Promise<Buffer> {
  if (fileSize !== undefined && position + length > fileSize) {
    throw new FormatError(`${what} [${position}, ${position + length}) ${pastEnd(fileSize)}`);
  }
  const buffer = Buffer.alloc(length);
  for (let filled = 0; filled < length; ) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) {
      throw new FormatError(`${what} at offset ${position} is cut short after ${filled} of ${length} bytes`);
    }
    filled += bytesRead;
  }
  return buffer;
}
