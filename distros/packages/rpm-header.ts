// The parts of an rpm before its payload (rpm's docs/manual/format.md; LSB Core, "Package File
// Format"), all integers big-endian:
//
//   lead       96 bytes: ed ab ee db, major 3|4, minor, type, archnum, name[66], osnum,
//              signature_type (5: a header-style signature follows), reserved[16]
//   signature  a header structure, padded with zeros to a multiple of 8 bytes
//   header     a header structure: the package's tags (name, files, PAYLOADCOMPRESSOR, ...)
//
// A header structure is 8e ad e8 01, 4 reserved bytes, the entry count and the data size, then
// that many 16-byte entries (tag, type, offset, count) and the data they point into.
import { FormatError } from "../../archive/errors.ts";
import type { ByteReader } from "./byte-reader.ts";

export interface RpmHeader {
  /** The 16-byte entries. */
  index: Buffer;
  /** The data the entries point into. */
  data: Buffer;
}

export interface RpmContext {
  /** Package name or URL, for error messages. */
  package: string;
  /** Size the index vouches for: a header reaching past it is refused before it is read. */
  packageSize?: number | undefined;
}

const leadSize = 96;
const leadMagic = 0xedabeedb;
const headerSignatureType = 5;
const headerMagic = 0x8eade801;
const introSize = 16;
const entrySize = 16;
// rpm's own limits on a header (hdrchkTags, hdrchkData in lib/header_internal.h).
const maxEntries = 0xffff;
const maxDataBytes = 0x0fffffff;
const stringType = 6;
const i18nStringType = 9;

/** When an rpm starts streaming: checks and passes over the lead. */
export async function readLead(reader: ByteReader, context: RpmContext): Promise<void> {
  const lead = await reader.readExactly(leadSize);
  if (lead.length < 4 || lead.readUInt32BE(0) !== leadMagic) {
    throw new FormatError(
      `not an rpm: it starts with ${lead.subarray(0, 4).toString("hex") || "nothing"}, not the lead magic edabeedb`,
      {
        package: context.package,
      },
    );
  }
  if (lead.length < leadSize) throw truncated("lead", reader, context);
  const major = lead[4]!;
  const signatureType = lead.readUInt16BE(78);
  if (major < 3 || signatureType !== headerSignatureType) {
    throw new FormatError(
      `unsupported rpm: format ${major}.${lead[5]} with signature type ${signatureType} (btfmill reads 3.x and 4.x with header signatures)`,
      {
        package: context.package,
      },
    );
  }
}

/** When the lead is read: reads the signature header (which btfmill does not use) or the main header. */
export async function readHeader(
  reader: ByteReader,
  section: "signature" | "header",
  context: RpmContext,
): Promise<RpmHeader> {
  const offset = reader.position;
  const intro = await reader.readExactly(introSize);
  if (intro.length < introSize) throw truncated(`${section} header`, reader, context);
  if (intro.readUInt32BE(0) !== headerMagic) {
    throw new FormatError(
      `the rpm's ${section} header at byte ${offset} starts with ${intro.subarray(0, 4).toString("hex")}, not 8eade801`,
      {
        package: context.package,
      },
    );
  }
  const entries = intro.readUInt32BE(8);
  const dataBytes = intro.readUInt32BE(12);
  if (entries > maxEntries || dataBytes > maxDataBytes) {
    throw new FormatError(
      `the rpm's ${section} header claims ${entries} entries and ${dataBytes} data bytes, over rpm's own limits`,
      {
        package: context.package,
      },
    );
  }
  // Only the signature is padded: the header that follows starts on an 8-byte boundary.
  const padding = section === "signature" ? (8 - (dataBytes % 8)) % 8 : 0;
  const end = offset + introSize + entries * entrySize + dataBytes + padding;
  if (context.packageSize !== undefined && end > context.packageSize) {
    throw new FormatError(
      `the rpm's ${section} header ends at byte ${end}, past the package's ${context.packageSize} bytes`,
      {
        package: context.package,
      },
    );
  }
  const index = await reader.readExactly(entries * entrySize);
  const data = await reader.readExactly(dataBytes);
  const skipped = await reader.skip(padding);
  if (index.length < entries * entrySize || data.length < dataBytes || skipped < padding)
    throw truncated(`${section} header`, reader, context);
  return { index, data };
}

/** When a header was read: the value of a STRING tag, or undefined when the header lacks it. */
export function headerString(header: RpmHeader, tag: number, context: RpmContext): string | undefined {
  for (let entry = 0; entry < header.index.length; entry += entrySize) {
    if (header.index.readUInt32BE(entry) !== tag) continue;
    const type = header.index.readUInt32BE(entry + 4);
    const offset = header.index.readUInt32BE(entry + 8);
    const end = header.data.indexOf(0, offset);
    if ((type !== stringType && type !== i18nStringType) || offset >= header.data.length || end < 0) {
      throw new FormatError(
        `the rpm header's tag ${tag} is not a string inside the header's data (type ${type}, offset ${offset})`,
        {
          package: context.package,
        },
      );
    }
    return header.data.toString("utf8", offset, end);
  }
  return undefined;
}

function truncated(what: string, reader: ByteReader, context: RpmContext): FormatError {
  return new FormatError(`the rpm ends at byte ${reader.position}, inside its ${what}`, { package: context.package });
}
