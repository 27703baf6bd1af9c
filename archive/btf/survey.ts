// What the pipeline's validation needs from a BTF, in one pass that keeps little: every type is
// decoded and checked as parseBtf does, but only its kind is noted, and for layouts only the
// offsets of structs, unions and modifiers; those are decoded again as the layouts are built.
// A kernel's 5 MB BTF parsed whole is ~27 MB of objects, all alive long enough to reach V8's old
// generation, where they stay until a full collection, and validation read two per kernel: in
// a batch the garbage of consecutive kernels piled up to 100 MB. Decoded this way, nothing but
// the layouts outlives its type.
import { parseBtfHeader } from "./header.ts";
import { layoutKinds, structLayoutsOf, type LayoutSignature } from "./layout.ts";
import { countTypes, decodeType, forEachTypeRecord, newTypeReader } from "./parse.ts";
import { parseBtfStrings } from "./strings.ts";
import type { BtfType } from "./types.ts";

export interface BtfSurvey {
  /** Kind names present, sorted. */
  kinds: string[];
  /** Layouts of the named structs and unions, when asked for. */
  layouts: Map<string, LayoutSignature[]> | undefined;
}

/** When a BTF is validated: its kinds, and its struct layouts with `layouts`; throws FormatError as parseBtf does. */
export function surveyBtf(bytes: Uint8Array, options: { layouts: boolean }): BtfSurvey {
  const header = parseBtfHeader(bytes);
  const { littleEndian: le } = header;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const strings = parseBtfStrings(bytes.subarray(header.stringStart, header.stringStart + header.stringLength));
  const count = countTypes(view, header);
  const reader = newTypeReader(view, le, strings, count);
  const kinds = new Set<string>();
  // By id, the record offset of each type layouts reach (0 for the others: no record starts at 0).
  const offsets = options.layouts ? new Uint32Array(count + 1) : undefined;
  const named: number[] = [];
  forEachTypeRecord(view, header, count, (id, offset, info) => {
    const type = decodeType(reader, id, offset, info);
    kinds.add(type.kind);
    if (offsets !== undefined && layoutKinds.has(type.kind)) {
      offsets[id] = offset;
      if (type.name !== "" && (type.kind === "STRUCT" || type.kind === "UNION")) named.push(id);
    }
  });
  if (offsets === undefined) return { kinds: [...kinds].sort(), layouts: undefined };
  // Already checked above, so decoding again cannot fail.
  const typeAt = (id: number): BtfType | undefined => {
    const at = offsets[id] ?? 0;
    return at === 0 ? undefined : decodeType(reader, id, at, view.getUint32(at + 4, le));
  };
  function* namedComposites(): Generator<BtfType> {
    for (const id of named) yield typeAt(id)!;
  }
  return { kinds: [...kinds].sort(), layouts: structLayoutsOf(namedComposites(), typeAt) };
}
