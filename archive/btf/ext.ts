// Decodes `.BTF.ext`, the side table clang writes next to a BPF object's `.BTF`: per ELF section,
// function infos, line infos and the CO-RE relocation records libbpf applies at load time.
// Layout: struct btf_ext_header and btf_ext_info_sec in tools/lib/bpf/libbpf_internal.h.
//
// test/fixtures/bpf/tcprtt.c, little-endian u32s after the 8-byte {magic, version, flags, hdr_len}:
//   9feb 01 00 20000000 | func_info 0 +0x14 | line_info 0x14 +0x8c | core_relo 0xa0 +0x1c
//   core_relo at 0x20+0xa0: rec_size 16 | sec_name_off 0x24 "fentry/tcp_rcv_established", num_info 1
//                           | insn_off 0, type_id 6 (tcp_sock), access_str_off 0x1f5 "0:1", kind 0 (FIELD_BYTE_OFFSET)
import { FormatError } from "../errors.ts";
import type { BtfStrings } from "./strings.ts";

const magic = 0xeb9f;
// func_info/line_info pairs only; CO-RE records arrived with a 32-byte header (libbpf 0.0.6).
const minHeaderLength = 24;
const coreHeaderLength = 32;
// Smallest record each sub-section may declare: bpf_func_info, bpf_line_info, bpf_core_relo.
const minRecordSizes = { func_info: 8, line_info: 16, core_relo: 16 } as const;

export interface BtfExtHeader {
  littleEndian: boolean;
  version: number;
  flags: number;
  headerLength: number;
}

/** One bpf_core_relo record, as on the wire. */
export interface CoreReloRecord {
  insnOff: number;
  typeId: number;
  accessStrOff: number;
  kind: number;
}

export interface CoreReloSection {
  /** The ELF section of the program the records patch (`fentry/tcp_rcv_established`). */
  section: string;
  records: CoreReloRecord[];
}

export interface BtfExt {
  header: BtfExtHeader;
  /** Record counts per section name; the records themselves only matter to a loader. */
  funcInfoCounts: Map<string, number>;
  lineInfoCounts: Map<string, number>;
  coreRelos: CoreReloSection[];
}

interface InfoBlock {
  section: string;
  count: number;
  recordSize: number;
  /** Absolute offset of the block's first record. */
  start: number;
}

/** When a BPF object is opened: decodes its `.BTF.ext` with names from its `.BTF` string table. */
export function parseBtfExt(bytes: Uint8Array, strings: BtfStrings): BtfExt {
  const header = parseBtfExtHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = header.littleEndian;
  const subSection = (name: keyof typeof minRecordSizes, at: number): InfoBlock[] => {
    const off = view.getUint32(at, le);
    const len = view.getUint32(at + 4, le);
    return parseInfoBlocks(view, le, strings, name, header.headerLength + off, len, minRecordSizes[name]);
  };
  const counts = (blocks: InfoBlock[]) => new Map(blocks.map((block) => [block.section, block.count]));
  const coreBlocks = header.headerLength >= coreHeaderLength ? subSection("core_relo", 24) : [];
  return {
    header,
    funcInfoCounts: counts(subSection("func_info", 8)),
    lineInfoCounts: counts(subSection("line_info", 16)),
    coreRelos: coreBlocks.map((block) => ({
      section: block.section,
      records: Array.from({ length: block.count }, (_, index) => {
        const at = block.start + index * block.recordSize;
        return {
          insnOff: view.getUint32(at, le),
          typeId: view.getUint32(at + 4, le),
          accessStrOff: view.getUint32(at + 8, le),
          kind: view.getUint32(at + 12, le),
        };
      }),
    })),
  };
}

function parseBtfExtHeader(bytes: Uint8Array): BtfExtHeader {
  if (bytes.length < minHeaderLength) {
    throw new FormatError(`.BTF.ext header truncated: ${bytes.length} bytes, need at least ${minHeaderLength}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rawMagic = view.getUint16(0, true);
  const littleEndian = rawMagic === magic;
  if (!littleEndian && rawMagic !== 0x9feb) {
    throw new FormatError(
      `not .BTF.ext: magic 0x${rawMagic.toString(16).padStart(4, "0")} at offset 0, expected 0xeb9f`,
    );
  }
  const version = view.getUint8(2);
  if (version !== 1) throw new FormatError(`.BTF.ext version ${version} at offset 2 is not supported (only version 1)`);
  const headerLength = view.getUint32(4, littleEndian);
  if (headerLength < minHeaderLength || headerLength > bytes.length) {
    throw new FormatError(
      `.BTF.ext hdr_len ${headerLength} at offset 4 is outside [${minHeaderLength}, ${bytes.length}] (the section size)`,
    );
  }
  return { littleEndian, version, flags: view.getUint8(3), headerLength };
}

// A sub-section: u32 rec_size, then blocks {u32 sec_name_off, u32 num_info, num_info records}.
function parseInfoBlocks(
  view: DataView,
  le: boolean,
  strings: BtfStrings,
  name: string,
  start: number,
  length: number,
  minRecordSize: number,
): InfoBlock[] {
  if (length === 0) return [];
  const end = start + length;
  if (end > view.byteLength) {
    throw new FormatError(`.BTF.ext ${name} [${start}, ${end}) overruns the ${view.byteLength}-byte section`);
  }
  if (length < 4) throw new FormatError(`.BTF.ext ${name} is ${length} bytes, too short for its rec_size`);
  const recordSize = view.getUint32(start, le);
  // libbpf's btf_ext_setup_info: records may grow, but never shrink or lose u32 alignment.
  if (recordSize < minRecordSize || recordSize % 4 !== 0) {
    throw new FormatError(
      `.BTF.ext ${name} rec_size ${recordSize} is not a multiple of 4 of at least ${minRecordSize}`,
    );
  }
  const blocks: InfoBlock[] = [];
  for (let at = start + 4; at < end; ) {
    if (end - at < 8) throw new FormatError(`.BTF.ext ${name}: ${end - at} stray bytes at offset ${at}`);
    const section = sectionName(strings, view.getUint32(at, le), name, at);
    const count = view.getUint32(at + 4, le);
    if (count === 0) throw new FormatError(`.BTF.ext ${name} block for section "${section}" at offset ${at} is empty`);
    const next = at + 8 + count * recordSize;
    if (next > end) {
      throw new FormatError(
        `.BTF.ext ${name} block for section "${section}" at offset ${at} declares ${count} records of ` +
          `${recordSize} bytes, past the sub-section end at ${end}`,
      );
    }
    blocks.push({ section, count, recordSize, start: at + 8 });
    at = next;
  }
  return blocks;
}

function sectionName(strings: BtfStrings, offset: number, name: string, at: number): string {
  try {
    return strings.get(offset);
  } catch (cause) {
    if (!(cause instanceof FormatError)) throw cause;
    throw new FormatError(`.BTF.ext ${name} block at offset ${at}: section name: ${cause.message}`, { cause });
  }
}
