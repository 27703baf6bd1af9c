// rpm's version order: rpmvercmp (rpm's lib/rpmvercmp.c) on version and release, after a numeric
// epoch. `4.18.0-147.el8` < `4.18.0-147.5.1.el8_1` < `4.18.0-193.el8`; `5.14.0-70.13.1.el9_0`
// < `5.14.0-70.22.1.el9_0`; `1.0~rc1` < `1.0` < `1.0^git1` < `1.0.1`.

export interface Evr {
  /** Missing in most packages, and then 0. */
  epoch?: number | undefined;
  version: string;
  release: string;
}

const isDigit = (char: string | undefined): boolean => char !== undefined && char >= "0" && char <= "9";
const isAlpha = (char: string | undefined): boolean =>
  char !== undefined && ((char >= "a" && char <= "z") || (char >= "A" && char <= "Z"));
// Everything but ASCII letters and digits separates segments, except ~ and ^, which sort.
const isSeparator = (char: string | undefined): boolean =>
  char !== undefined && !isDigit(char) && !isAlpha(char) && char !== "~" && char !== "^";

/** When two versions (or two releases) are ordered: -1, 0 or 1, as rpm's rpmvercmp answers. */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let one = 0;
  let two = 0;
  while (one < a.length || two < b.length) {
    while (isSeparator(a[one])) one++;
    while (isSeparator(b[two])) two++;
    // A tilde sorts before everything, even the end of the string (`1.0~rc1` < `1.0`).
    if (a[one] === "~" || b[two] === "~") {
      if (a[one] !== "~") return 1;
      if (b[two] !== "~") return -1;
      one++;
      two++;
      continue;
    }
    // A caret sorts after the end of the string but before anything else (`1.0` < `1.0^git1` < `1.0.1`).
    if (a[one] === "^" || b[two] === "^") {
      if (one >= a.length) return -1;
      if (two >= b.length) return 1;
      if (a[one] !== "^") return 1;
      if (b[two] !== "^") return -1;
      one++;
      two++;
      continue;
    }
    if (one >= a.length || two >= b.length) break;
    const numeric = isDigit(a[one]);
    const inSegment = numeric ? isDigit : isAlpha;
    let end1 = one;
    let end2 = two;
    while (end1 < a.length && inSegment(a[end1])) end1++;
    while (end2 < b.length && inSegment(b[end2])) end2++;
    // One numeric segment against an alpha one: the number is newer.
    if (end2 === two) return numeric ? 1 : -1;
    let segment1 = a.slice(one, end1);
    let segment2 = b.slice(two, end2);
    if (numeric) {
      segment1 = segment1.replace(/^0+/, "");
      segment2 = segment2.replace(/^0+/, "");
      if (segment1.length !== segment2.length) return segment1.length > segment2.length ? 1 : -1;
    }
    if (segment1 !== segment2) return segment1 > segment2 ? 1 : -1;
    one = end1;
    two = end2;
  }
  // Equal segments, different separators: whichever has something left is newer.
  if (one >= a.length && two >= b.length) return 0;
  return one >= a.length ? -1 : 1;
}

/** When packages are ordered: epoch, then version, then release, as rpm orders them. */
export function compareEvr(a: Evr, b: Evr): -1 | 0 | 1 {
  const epochA = a.epoch ?? 0;
  const epochB = b.epoch ?? 0;
  if (epochA !== epochB) return epochA > epochB ? 1 : -1;
  return rpmvercmp(a.version, b.version) || rpmvercmp(a.release, b.release);
}

/** When a package is recorded: `4.18.0-147.el8`, with `1:` in front when the epoch is not 0. */
export function formatEvr(evr: Evr): string {
  return `${evr.epoch ? `${evr.epoch}:` : ""}${evr.version}-${evr.release}`;
}
