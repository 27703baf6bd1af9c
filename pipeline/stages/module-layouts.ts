// A module's struct layouts, read from its split BTF alone against a base read once per kernel.
// Joining base and module and surveying the whole (what validating one module did) decoded the
// kernel's ~100k types again for every module: with "all" (3,000-4,000 modules in Debian's
// packages) that was two 5 MB BTF parses per module, for the kernel's layouts that the kernel's
// own validation had already compared. Here each base (ours and the kernel's own `.BTF`) is
// surveyed once; a module's types are decoded from its own bytes, reaching into its base only for
// the anonymous members a layout flattens.
import { parseBtfHeader, type BtfHeader } from "../../archive/btf/header.ts";
import { layoutKinds, structLayoutsOf, type LayoutSignature } from "../../archive/btf/layout.ts";
import { countTypes, decodeType, forEachTypeRecord, newTypeReader, type TypeReader } from "../../archive/btf/parse.ts";
import { parseBtfStrings, type BtfStrings } from "../../archive/btf/strings.ts";
import type { BtfType } from "../../archive/btf/types.ts";
import { FormatError } from "../../archive/errors.ts";

type Layouts = Map<string, LayoutSignature[]>;

/** A base BTF surveyed once: its layouts, and what a module's layouts need to reach its types. */
export interface SurveyedBase {
  count: number;
  strings: BtfStrings;
  littleEndian: boolean;
  layouts: Layouts;
  typeAt: (id: number) => BtfType | undefined;
}

export interface ModuleSurvey {
  /** Types the split BTF adds to its base. */
  types: number;
  kinds: string[];
  /** Layouts of the named structs and unions the module's split BTF defines. */
  layouts: Layouts;
}

/** When a kernel's modules are validated: surveys a base (pahole's BTF, or the vmlinux's own `.BTF`) once. */
export function surveyBase(bytes: Uint8Array): SurveyedBase {
  const header = parseBtfHeader(bytes);
  const walked = walk(bytes, header, parseBtfStrings(section(bytes, header)), 0);
  return {
    count: walked.count,
    strings: walked.strings,
    littleEndian: header.littleEndian,
    layouts: structLayoutsOf(walked.named(), walked.typeAt),
    typeAt: walked.typeAt,
  };
}

/** When one module is validated: its kinds and layouts, its split BTF read against `base`; throws FormatError. */
export function surveySplit(split: Uint8Array, base: SurveyedBase): ModuleSurvey {
  const header = parseBtfHeader(split, { split: true });
  if (header.littleEndian !== base.littleEndian) {
    throw new FormatError("the split BTF and its base differ in byte order: it was not made from this base");
  }
  const walked = walk(
    split,
    header,
    continuedStrings(base.strings, parseBtfStrings(section(split, header))),
    base.count,
  );
  const typeAt = (id: number) => (id <= base.count ? base.typeAt(id) : walked.typeAt(id));
  return {
    types: walked.count - base.count,
    kinds: walked.kinds,
    layouts: structLayoutsOf(walked.named(), typeAt),
  };
}

/**
 * When a module's layouts are compared: for every struct/union name the module defines in either
 * BTF, the set of its layouts in base and module together, ours against the reference: what
 * comparing the joined BTFs gave for those names (the kernel's other names were compared with the kernel).
 */
export function joinedLayouts(
  module: ModuleSurvey,
  base: SurveyedBase,
  names: Iterable<string>,
): Map<string, LayoutSignature[]> {
  const joined = new Map<string, LayoutSignature[]>();
  for (const name of names) {
    const layouts = [...new Set([...(base.layouts.get(name) ?? []), ...(module.layouts.get(name) ?? [])])].sort();
    if (layouts.length > 0) joined.set(name, layouts);
  }
  return joined;
}

function section(bytes: Uint8Array, header: BtfHeader): Uint8Array {
  return bytes.subarray(header.stringStart, header.stringStart + header.stringLength);
}

// A split BTF's string offsets go on from its base's: below the base's length they name the base's strings.
function continuedStrings(base: BtfStrings, own: BtfStrings): BtfStrings {
  return {
    length: base.length + own.length,
    get: (offset) => (offset < base.length ? base.get(offset) : own.get(offset - base.length)),
  };
}

// One pass over the types (ids from `idBase` + 1), every type decoded and checked as parseBtf does;
// kept: the kinds, and the record offsets of the types layouts reach, to decode them again on demand.
function walk(bytes: Uint8Array, header: BtfHeader, strings: BtfStrings, idBase: number) {
  const le = header.littleEndian;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = countTypes(view, header);
  const reader: TypeReader = newTypeReader(view, le, strings, idBase + count);
  const kinds = new Set<string>();
  const offsets = new Uint32Array(count + 1);
  const named: number[] = [];
  forEachTypeRecord(view, header, count, (index, offset, info) => {
    const type = decodeType(reader, idBase + index, offset, info);
    kinds.add(type.kind);
    if (!layoutKinds.has(type.kind)) return;
    offsets[index] = offset;
    if (type.name !== "" && (type.kind === "STRUCT" || type.kind === "UNION")) named.push(idBase + index);
  });
  const typeAt = (id: number): BtfType | undefined => {
    const at = offsets[id - idBase] ?? 0;
    return at === 0 ? undefined : decodeType(reader, id, at, view.getUint32(at + 4, le));
  };
  return {
    count: idBase + count,
    strings,
    kinds: [...kinds].sort(),
    typeAt,
    *named(): Generator<BtfType> {
      for (const id of named) yield typeAt(id)!;
    },
  };
}
