// A suite's Release file, after its signature was checked (apt-signature.ts):
//
//   Origin: Debian
//   Codename: bookworm-security
//   Date: Mon, 23 Nov 2026 11:22:37 UTC
//   Valid-Until: Mon, 30 Nov 2026 11:22:37 UTC
//   SHA256:
//    36712c7d...3cad   378656 main/binary-amd64/Packages.xz
//
// https://wiki.debian.org/DebianRepository/Format#A.22Release.22_files
import { FormatError, IntegrityError } from "../../archive/errors.ts";
import { fieldWords, parseDeb822 } from "./deb822.ts";
import type { Deb822Stanza } from "./deb822.ts";

/** A file the Release vouches for, by path relative to `dists/<suite>/`. */
export interface ReleaseFileEntry {
  path: string;
  size: number;
  /** Lowercase hex. */
  sha256: string;
}

export interface AptRelease {
  fields: Deb822Stanza;
  suite: string | undefined;
  codename: string | undefined;
  date: Date | undefined;
  validUntil: Date | undefined;
  architectures: string[];
  components: string[];
  /** The SHA256 section by path; weaker sums are ignored. */
  files: Map<string, ReleaseFileEntry>;
}

/** When a verified Release text is read: its fields, dates and SHA256 file list. */
export function parseRelease(text: string, where: string): AptRelease {
  const [fields, ...extra] = parseDeb822(text, where);
  if (fields === undefined || extra.length > 0) {
    throw new FormatError(`${where} holds ${extra.length + (fields ? 1 : 0)} stanzas, a Release has exactly one`, {
      hint: "the file is not a Release; is the mirror URL right?",
    });
  }
  const checksums = fields.get("sha256");
  if (checksums === undefined) {
    throw new FormatError(`${where} has no SHA256 section`, {
      hint: "btfmill trusts only SHA256 sums; use a mirror that publishes them",
    });
  }
  return {
    fields,
    suite: fields.get("suite"),
    codename: fields.get("codename"),
    date: parseDate(fields, "date", where),
    validUntil: parseDate(fields, "valid-until", where),
    architectures: fieldWords(fields, "architectures"),
    components: fieldWords(fields, "components"),
    files: parseChecksums(checksums, where),
  };
}

/** When a Release was just verified: refuses one past its Valid-Until (a stale or replayed mirror). */
export function assertReleaseCurrent(release: AptRelease, suite: string, where: string, now: Date = new Date()): void {
  if (release.validUntil !== undefined && release.validUntil.getTime() < now.getTime()) {
    throw new IntegrityError(`Release of suite ${suite} at ${where} expired on ${release.validUntil.toISOString()}`, {
      hint: "the mirror is stale: use another mirror or wait until it syncs; for an archived release, set `checkValidUntil: false` on the source",
    });
  }
}

/**
 * When a Release was just verified: refuses one that names another suite, so a mirror cannot
 * serve a validly signed Release of, say, an older suite in place of the one asked for. Like apt,
 * `buster/updates` may call itself `buster`.
 */
export function assertReleaseIsSuite(release: AptRelease, suite: string, where: string): void {
  const names = [release.suite, release.codename].filter((name): name is string => name !== undefined);
  const accepted = new Set([suite, suite.split("/")[0]]);
  if (names.length > 0 && !names.some((name) => accepted.has(name))) {
    throw new IntegrityError(`Release at ${where} describes suite ${names.join("/")}, not ${suite}`, {
      hint: "the mirror serves the wrong Release for this suite: check the mirror, or the suite name in the config",
    });
  }
}

function parseChecksums(section: string, where: string): Map<string, ReleaseFileEntry> {
  const files = new Map<string, ReleaseFileEntry>();
  for (const line of section.split("\n")) {
    if (line === "") continue;
    const match = /^([0-9a-fA-F]{64})\s+(\d+)\s+(\S+)$/.exec(line);
    if (match === null) {
      throw new FormatError(
        `${where}: SHA256 line ${JSON.stringify(line.slice(0, 120))} is not "<sha256> <size> <path>"`,
        {
          hint: "the Release is malformed; report it to whoever publishes it",
        },
      );
    }
    const [, sha256, size, path] = match as unknown as [string, string, string, string];
    files.set(path, { path, size: Number(size), sha256: sha256.toLowerCase() });
  }
  return files;
}

function parseDate(fields: Deb822Stanza, field: string, where: string): Date | undefined {
  const value = fields.get(field);
  if (value === undefined) return undefined;
  // RFC 2822 with "UTC" as the zone, which Date.parse reads.
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new FormatError(`${where}: ${field} ${JSON.stringify(value)} is not a date`, {
      hint: "the Release is malformed; report it to whoever publishes it",
    });
  }
  return new Date(time);
}
