// Debian version ordering, as dpkg implements it (lib/dpkg/version.c, deb-version(7)):
// `[epoch:]upstream[-revision]`, compared part by part; within a part, non-digit runs compare
// character by character with `~` before everything (even the end), then letters, then other
// characters, and digit runs compare as numbers. `6.1.170-3 < 6.1.176-1`, `1.0~rc1 < 1.0`.
import { FormatError } from "../../archive/errors.ts";

export interface DebianVersion {
  epoch: number;
  upstream: string;
  /** Empty when the version has none (native packages); dpkg orders "" like "0". */
  revision: string;
}

/** When a version string from an index is compared: splits it as dpkg's parseversion() does. */
export function parseDebianVersion(version: string): DebianVersion {
  const text = version.trim();
  const colon = text.indexOf(":");
  let epoch = 0;
  if (colon !== -1) {
    const epochText = text.slice(0, colon);
    if (!/^\d+$/.test(epochText)) {
      throw new FormatError(`version ${JSON.stringify(version)} has an epoch that is not a number`, {
        hint: "the index is malformed; report it to whoever publishes it",
      });
    }
    epoch = Number(epochText);
  }
  const rest = text.slice(colon + 1);
  const hyphen = rest.lastIndexOf("-");
  const upstream = hyphen === -1 ? rest : rest.slice(0, hyphen);
  if (upstream === "") {
    throw new FormatError(`version ${JSON.stringify(version)} has an empty upstream part`, {
      hint: "the index is malformed; report it to whoever publishes it",
    });
  }
  return { epoch, upstream, revision: hyphen === -1 ? "" : rest.slice(hyphen + 1) };
}

/** When packages are ordered newest first: negative if a < b, 0 if equal, positive if a > b (dpkg's order). */
export function compareDebianVersions(a: string, b: string): number {
  const left = parseDebianVersion(a);
  const right = parseDebianVersion(b);
  if (left.epoch !== right.epoch) return left.epoch > right.epoch ? 1 : -1;
  return Math.sign(comparePart(left.upstream, right.upstream) || comparePart(left.revision, right.revision));
}

// dpkg's order(): digits and the end weigh 0, `~` -1, letters their code, the rest code + 256.
function weight(part: string, index: number): number {
  if (index >= part.length) return 0;
  const code = part.charCodeAt(index);
  if (isDigit(code)) return 0;
  if ((code >= 65 && code <= 90) || (code >= 97 && code <= 122)) return code;
  if (code === 126) return -1;
  return code + 256;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function digitAt(part: string, index: number): boolean {
  return index < part.length && isDigit(part.charCodeAt(index));
}

// dpkg's verrevcmp().
function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !digitAt(a, i)) || (j < b.length && !digitAt(b, j))) {
      const difference = weight(a, i) - weight(b, j);
      if (difference !== 0) return difference;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    let firstDifference = 0;
    while (digitAt(a, i) && digitAt(b, j)) {
      if (firstDifference === 0) firstDifference = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (digitAt(a, i)) return 1;
    if (digitAt(b, j)) return -1;
    if (firstDifference !== 0) return firstDifference;
  }
  return 0;
}
