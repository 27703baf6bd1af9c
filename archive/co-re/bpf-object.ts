// A registered BPF object as coverage needs it: its own BTF (the local types) and every CO-RE
// relocation from `.BTF.ext`, with kind and access string decoded.
import { FormatError } from "../errors.ts";
import { parseBtfExt } from "../btf/ext.ts";
import { parseBtfHeader } from "../btf/header.ts";
import { parseBtf } from "../btf/parse.ts";
import { parseBtfStrings } from "../btf/strings.ts";
import type { BtfSpec } from "../btf/types.ts";
import { readElfFunctions, readElfMachine, readElfSection, type ElfFunction } from "../elf.ts";
import { isReloKind, reloKindNames, type ReloKind, type ReloKindName } from "./relo-kinds.ts";

const machineBpf = 247; // EM_BPF

export interface CoreRelocation {
  /** ELF section of the program (`fentry/tcp_rcv_established`); bpftool calls it the prog. */
  section: string;
  /**
   * The function whose instructions hold the relocation (`read_srtt`): several programs may share
   * a section, and a guard only guards reads of its own program. The section when no symbol covers it.
   */
  program: string;
  /** Position among the section's records: libbpf's and bpftool's `relo #N`. */
  index: number;
  insnOff: number;
  kind: ReloKind;
  kindName: ReloKindName;
  /** Local root type in the object's BTF. */
  typeId: number;
  /** "0:1:2": array index into the root, then member or element indexes. */
  accessString: string;
}

export interface BpfObject {
  btf: BtfSpec;
  relocations: CoreRelocation[];
}

/** When a BPF object is registered or its coverage computed: its BTF and CO-RE relocations. */
export async function loadBpfObject(path: string): Promise<BpfObject> {
  const machine = await readElfMachine(path);
  if (machine !== machineBpf) {
    throw new FormatError(`${path}: not a BPF object: ELF e_machine is ${machine}, expected ${machineBpf} (EM_BPF)`, {
      hint: "register the .o that clang -target bpf produced",
    });
  }
  const btfBytes = await readElfSection(path, ".BTF");
  const extBytes = await readElfSection(path, ".BTF.ext");
  const missing = [btfBytes === undefined ? ".BTF" : "", extBytes === undefined ? ".BTF.ext" : ""].filter(Boolean);
  if (btfBytes === undefined || extBytes === undefined) {
    throw new FormatError(
      `${path}: BPF object has no ${missing.join(" and ")} section${missing.length > 1 ? "s" : ""}`,
      {
        hint: "compile with clang -g so it emits BTF and CO-RE relocations",
      },
    );
  }
  const functions = await readElfFunctions(path);
  try {
    return newBpfObject(btfBytes, extBytes, functions);
  } catch (cause) {
    if (cause instanceof FormatError) throw new FormatError(`${path}: ${cause.message}`, { cause });
    throw cause;
  }
}

function newBpfObject(btfBytes: Uint8Array, extBytes: Uint8Array, functions: ElfFunction[]): BpfObject {
  const btf = parseBtf(btfBytes);
  const header = parseBtfHeader(btfBytes);
  const strings = parseBtfStrings(btfBytes.subarray(header.stringStart, header.stringStart + header.stringLength));
  const ext = parseBtfExt(extBytes, strings);
  const relocations: CoreRelocation[] = [];
  for (const { section, records } of ext.coreRelos) {
    for (const [index, record] of records.entries()) {
      const where = `.BTF.ext core_relo "${section}" #${index}`;
      if (!isReloKind(record.kind)) throw new FormatError(`${where}: unknown relocation kind ${record.kind}`);
      if (record.typeId === 0 || record.typeId > btf.types.length) {
        throw new FormatError(`${where}: type id ${record.typeId} is not in the object's ${btf.types.length} types`);
      }
      const accessString = strings.get(record.accessStrOff);
      if (!/^\d+(:\d+)*$/.test(accessString)) {
        throw new FormatError(`${where}: access string "${accessString}" is not colon-separated indexes`);
      }
      const program = functions.find(
        (fn) => fn.section === section && record.insnOff >= fn.offset && record.insnOff < fn.offset + fn.size,
      );
      relocations.push({
        section,
        program: program?.name ?? section,
        index,
        insnOff: record.insnOff,
        kind: record.kind,
        kindName: reloKindNames[record.kind],
        typeId: record.typeId,
        accessString,
      });
    }
  }
  return { btf, relocations };
}
