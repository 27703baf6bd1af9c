// A suite's Packages index: which file to take from the verified Release, the check of its bytes
// against the Release's SHA256 list, and the parse of its stanzas. No network here (apt.ts
// fetches), so all of it runs offline on saved bytes.
//
//   Package: linux-image-6.1.0-47-cloud-amd64-dbg
//   Source: linux
//   Version: 6.1.170-3
//   Architecture: amd64
//   Filename: pool/main/l/linux/linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb
//   Size: 281462948
//   SHA256: 7ad48c59de359b78ceec77ab8330fbfa982360c674444a1df7be8eaf11d3863b
import { FormatError, IntegrityError } from "../../pipeline/errors.ts";
import { parseDeb822 } from "./deb822.ts";
import { decompressIndex } from "./index-decompress.ts";
import type { IndexCompression } from "./index-decompress.ts";
import type { AptRelease, ReleaseFileEntry } from "./release.ts";
import { sha256Hex } from "../../archive/file-digest.ts";

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

// Smallest first: Debian lists the plain Packages in Release without always serving it.
const PREFERENCE: readonly [string, IndexCompression][] = [
  [".xz", "xz"],
  [".gz", "gz"],
  ["", "none"],
];
// When the Release does not list the plain index: no real Packages comes near this.
const MAX_DECOMPRESSED = 1024 * 1024 * 1024;

/** When a suite's Release was verified: which Packages file to download for `component` and `arch`. */
export function pickPackagesIndex(release: AptRelease, component: string, arch: string, where: string): PackagesIndexChoice {
  const base = `${component}/binary-${arch}/Packages`;
  for (const [suffix, compression] of PREFERENCE) {
    const entry = release.files.get(base + suffix);
    if (entry !== undefined) return { path: base + suffix, compression, entry, plain: release.files.get(base) };
  }
  throw new FormatError(`${where} lists no ${base}(.xz|.gz) in its SHA256 section`, {
    hint: `the suite does not publish ${component} for ${arch}: check the arch, or the suites in the config`,
  });
}

/** When an index was downloaded: refuses bytes whose size or SHA256 differ from the Release's. */
export function verifyIndexBytes(data: Buffer, entry: ReleaseFileEntry, url: string): void {
  if (data.length !== entry.size) {
    throw new IntegrityError(`${url} is ${data.length} bytes, the signed Release says ${entry.size}`, {
      package: url,
      hint: "the mirror is mid-sync or corrupt: retry later or use another mirror",
    });
  }
  const sha256 = sha256Hex(data);
  if (sha256 !== entry.sha256) {
    throw new IntegrityError(`${url} has SHA256 ${sha256}, the signed Release says ${entry.sha256}`, {
      package: url,
      hint: "the mirror is mid-sync or corrupt: retry later or use another mirror",
    });
  }
}

/** When an index was downloaded: verifies it against the Release, decompresses and parses it. */
export async function openPackagesIndex(
  data: Buffer,
  choice: PackagesIndexChoice,
  url: string,
  options: { accept?: (name: string) => boolean; signal?: AbortSignal | undefined } = {},
): Promise<PackageRecord[]> {
  verifyIndexBytes(data, choice.entry, url);
  const text = await decompressIndex(data, choice.compression, {
    maxBytes: choice.plain?.size ?? MAX_DECOMPRESSED,
    exactBytes: choice.plain?.size,
    what: url,
    signal: options.signal,
  });
  return parsePackagesIndex(text, url, options.accept);
}

// Debian's main index decodes to 50 MB; made one JS string and split into its 60,000 stanzas it
// raised the process's RSS by 100 MB at once. The stanzas are found in the bytes instead, and
// only those whose name `accept`s become strings (a stanza's name line is ASCII).
function acceptedStanzas(data: Buffer, accept: (name: string) => boolean): string[] {
  const accepted: string[] = [];
  const take = (start: number, end: number) => {
    const name = /^Package:[ \t]*(\S+)/im.exec(data.toString("latin1", start, end))?.[1];
    if (name !== undefined && accept(name)) accepted.push(data.toString("utf8", start, end));
  };
  let start = 0;
  let line = 0;
  while (line < data.length) {
    const newline = data.indexOf(10, line);
    const end = newline < 0 ? data.length : newline;
    // A stanza ends at a blank line: nothing but spaces, tabs and a CR (the split below: /\n[ \t]*\r?\n/).
    if (line > 0 && isBlankLine(data, line, end)) {
      take(start, line);
      start = end + 1;
    }
    line = end + 1;
  }
  if (start < data.length) take(start, data.length);
  return accepted;
}

function isBlankLine(data: Buffer, start: number, end: number): boolean {
  for (let at = start; at < end; at++) {
    const byte = data[at];
    if (byte === 13 && at === end - 1) return true;
    if (byte !== 32 && byte !== 9) return false;
  }
  return true;
}

/**
 * When a Packages text is read: one record per stanza, `where` names it in errors. `accept`
 * filters on the package name before a stanza is parsed: Debian's main index has 60,000
 * stanzas and a source wants a few dozen of them.
 */
export function parsePackagesIndex(index: string | Buffer, where: string, accept?: (name: string) => boolean): PackageRecord[] {
  const text = typeof index === "string" ? index : undefined;
  const stanzas =
    accept === undefined
      ? parseDeb822(text ?? index.toString("utf8"), where)
      : (text === undefined ? acceptedStanzas(index as Buffer, accept) : text.split(/\n[ \t]*\r?\n/)).flatMap((chunk) => {
          const name = /^Package:[ \t]*(\S+)/im.exec(chunk)?.[1];
          return name !== undefined && accept(name) ? parseDeb822(chunk, where) : [];
        });
  return stanzas.map((stanza) => {
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
      package: field("package"),
      version: field("version"),
      architecture: field("architecture"),
      filename: field("filename"),
      size: Number(field("size")),
      sha256: field("sha256").toLowerCase(),
      // dpkg: no Source field means the source package has the binary's name.
      source: (stanza.get("source") ?? field("package")).split(" ")[0]!,
    };
    if (!Number.isSafeInteger(record.size) || record.size < 0) {
      throw new FormatError(`${where}: package ${record.package} has Size ${JSON.stringify(field("size"))}`, {
        hint: "the index is malformed; report it to whoever publishes it",
      });
    }
    if (!/^[0-9a-f]{64}$/.test(record.sha256)) {
      throw new FormatError(`${where}: package ${record.package} has SHA256 ${JSON.stringify(record.sha256)}`, {
        hint: "the index is malformed; report it to whoever publishes it",
      });
    }
    // The URL is built as base + "/" + Filename: a path leaving the mirror is refused.
    if (record.filename.startsWith("/") || record.filename.split("/").includes("..") || record.filename.includes("://")) {
      throw new FormatError(`${where}: package ${record.package} has Filename ${JSON.stringify(record.filename)} outside the mirror`, {
        hint: "the index is malformed; report it to whoever publishes it",
      });
    }
    return record;
  });
}
