// A suite's Packages index: which file to take from the verified Release, the check of its bytes
// against the Release's SHA256 list as they stream in, and the parse of its stanzas as they
// decode. No network here (apt.ts opens the body), so all of it runs offline on saved bytes.
//
//   Package: linux-image-6.1.0-47-cloud-amd64-dbg
//   Source: linux
//   Version: 6.1.170-3
//   Architecture: amd64
//   Filename: pool/main/l/linux/linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb
//   Size: 281462948
//   SHA256: 7ad48c59de359b78ceec77ab8330fbfa982360c674444a1df7be8eaf11d3863b
import { Readable } from "node:stream";
import { ByteReader } from "../packages/byte-reader.ts";
import { createDecoder } from "../packages/decompress.ts";
import { decodePayload } from "../packages/payload-decoder.ts";
import { FormatError } from "../../archive/errors.ts";
import { CheckedDownload } from "./checked-download.ts";
import { parseDeb822 } from "./deb822.ts";
import type { Deb822Stanza } from "./deb822.ts";
import type { AptRelease, ReleaseFileEntry } from "./release.ts";
import { StanzaScanner } from "./stanza-scanner.ts";
import { sha256Pattern } from "../../archive/file-digest.ts";

export type IndexCompression = "xz" | "gz" | "none";

export interface PackagesIndexChoice {
  /** Path relative to `dists/<suite>/`. */
  path: string;
  compression: IndexCompression;
  entry: ReleaseFileEntry;
  /** The uncompressed index's entry when the Release lists it: its size bounds decompression. */
  plain: ReleaseFileEntry | undefined;
}

/** One binary package as the index describes it. */
export interface PackageRecord {
  package: string;
  version: string;
  architecture: string;
  /** Path relative to the mirror's base URL (`pool/main/...`). */
  filename: string;
  size: number;
  /** Lowercase hex. */
  sha256: string;
  /** Source package name, without the version some indexes add in parentheses. */
  source: string;
}

// .gz first: node's zlib decodes it in process, where .xz needs an `xz` child. Bookworm's main
// amd64 index is 12.1 MB as .gz and 8.8 MB as .xz; read and parsed from disk, the .gz took 0.58 s
// of CPU and 0.36 s wall, the .xz 1.12 s and 0.62-0.97 s (the child's share included), and a run
// over 200 sources spawns 200 fewer processes from a node of 250 MB or more, each fork costing
// it milliseconds. Suites that list only .xz (Debian's security suites) still take it. The plain
// file comes last: Debian lists it in Release without always serving it.
const PREFERENCE: readonly [string, IndexCompression][] = [
  [".gz", "gz"],
  [".xz", "xz"],
  ["", "none"],
];
// When the Release does not list the plain index: no real Packages comes near this.
const MAX_DECOMPRESSED = 1024 * 1024 * 1024;
// Pieces of the download handed to the decoder.
const readSize = 1024 * 1024;

/** When a suite's Release was verified: which Packages file to download for `component` and `arch`. */
export function pickPackagesIndex(
  release: AptRelease,
  component: string,
  arch: string,
  where: string,
): PackagesIndexChoice {
  const base = `${component}/binary-${arch}/Packages`;
  for (const [suffix, compression] of PREFERENCE) {
    const entry = release.files.get(base + suffix);
    if (entry !== undefined) return { path: base + suffix, compression, entry, plain: release.files.get(base) };
  }
  throw new FormatError(`${where} lists no ${base}(.xz|.gz) in its SHA256 section`, {
    hint: `the suite does not publish ${component} for ${arch}: check the arch, or the suites in the config`,
  });
}

/** When a listed index downloads: its records, parsed as the bytes arrive and returned only once they matched the Release. */
export async function readPackagesIndex(
  body: AsyncIterable<Buffer>,
  choice: PackagesIndexChoice,
  url: string,
  options: { accept?: (name: string) => boolean; signal?: AbortSignal | undefined } = {},
): Promise<PackageRecord[]> {
  const download = new CheckedDownload(
    body,
    url,
    { algorithm: "sha256", value: choice.entry.sha256 },
    choice.entry.size,
    "Release",
  );
  return download.read((chunks) => scanIndex(chunks, choice, url, options));
}

// Decodes as the bytes arrive and keeps only the accepted stanzas: the 9 MB of xz and the 50 MB
// they decode to are never held whole (together they once raised `btfmill plan` to 205 MB).
async function scanIndex(
  compressed: AsyncIterable<Buffer>,
  choice: PackagesIndexChoice,
  url: string,
  options: { accept?: (name: string) => boolean; signal?: AbortSignal | undefined },
): Promise<PackageRecord[]> {
  const maxBytes = choice.plain?.size ?? MAX_DECOMPRESSED;
  const scan = async (decoded: AsyncIterable<Buffer>): Promise<PackageRecord[]> => {
    const scanner = new StanzaScanner(options.accept, url);
    const records: PackageRecord[] = [];
    let bytes = 0;
    for await (const chunk of decoded) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        throw new FormatError(`${url} decompresses to more than ${maxBytes} bytes`, {
          package: url,
          hint: "the index is broken on the mirror: retry later or use another mirror",
        });
      }
      for (const stanza of scanner.push(chunk)) records.push(...packageRecords(stanza, url));
    }
    for (const stanza of scanner.end()) records.push(...packageRecords(stanza, url));
    return records;
  };
  // The reader's chunks, not the download's: a scan that stops early must leave the download to be drained and hashed.
  const chunks = new ByteReader(compressed).rest(readSize);
  if (choice.compression === "none") return scan(chunks);
  const decoder = createDecoder(choice.compression === "xz" ? "xz" : "gzip", url, { package: url });
  return (await decodePayload(Readable.from(chunks, { objectMode: false }), decoder, options.signal, scan)).result;
}

/**
 * When a Packages text is read: one record per stanza, `where` names it in errors. `accept`
 * filters on the package name before a stanza is parsed: Debian's main index has 60,000
 * stanzas and a source wants a few dozen of them.
 */
export function parsePackagesIndex(
  index: string | Buffer,
  where: string,
  accept?: (name: string) => boolean,
): PackageRecord[] {
  const scanner = new StanzaScanner(accept, where);
  const stanzas = [...scanner.push(typeof index === "string" ? Buffer.from(index, "utf8") : index), ...scanner.end()];
  return stanzas.flatMap((stanza) => packageRecords(stanza, where));
}

// An accepted stanza's text: its record (none for a stanza of only blank or comment lines).
function packageRecords(text: string, where: string): PackageRecord[] {
  return parseDeb822(text, where).map((stanza) => packageRecord(stanza, where));
}

// A field's value as a string of its own. V8 keeps a substring as a view into the string it was
// cut from, so a record holding its name or Filename held its whole stanza's text: in a `plan`
// over 100,000 kernels, which keeps every source's packages, 84,000 stanzas (37 MB) stayed alive.
// Slicing a concatenation makes V8 flatten it into a new string first, so the result views only
// that copy: about 0.09 us a field, where a JSON round trip took 0.25 and a Buffer's 0.5.
function detached(value: string): string {
  return ` ${value}`.slice(1);
}

function packageRecord(stanza: Deb822Stanza, where: string): PackageRecord {
  const name = stanza.get("package");
  const field = (key: string): string => {
    const value = stanza.get(key);
    if (value === undefined || value === "") {
      throw new FormatError(`${where}: package ${name ?? "(unnamed)"} has no ${key} field`, {
        hint: "the index is malformed; report it to whoever publishes it",
      });
    }
    return value;
  };
  const record: PackageRecord = {
    package: detached(field("package")),
    version: detached(field("version")),
    architecture: field("architecture"),
    filename: detached(field("filename")),
    size: Number(field("size")),
    sha256: detached(field("sha256").toLowerCase()),
    // dpkg: no Source field means the source package has the binary's name.
    source: (stanza.get("source") ?? field("package")).split(" ")[0]!,
  };
  if (!Number.isSafeInteger(record.size) || record.size < 0) {
    throw new FormatError(`${where}: package ${record.package} has Size ${JSON.stringify(field("size"))}`, {
      hint: "the index is malformed; report it to whoever publishes it",
    });
  }
  if (!sha256Pattern.test(record.sha256)) {
    throw new FormatError(`${where}: package ${record.package} has SHA256 ${JSON.stringify(record.sha256)}`, {
      hint: "the index is malformed; report it to whoever publishes it",
    });
  }
  // The URL is built as base + "/" + Filename: a path leaving the mirror is refused.
  if (record.filename.startsWith("/") || record.filename.split("/").includes("..") || record.filename.includes("://")) {
    throw new FormatError(
      `${where}: package ${record.package} has Filename ${JSON.stringify(record.filename)} outside the mirror`,
      {
        hint: "the index is malformed; report it to whoever publishes it",
      },
    );
  }
  return record;
}
