import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { compareDebianVersions, parseDebianVersion } from "../../../distros/repos/deb-version.ts";
import { FormatError } from "../../../archive/errors.ts";

// Pairs whose order trips naive comparisons; expected signs checked against dpkg below as well.
const tricky: [string, string, -1 | 0 | 1][] = [
  ["1.0~rc1", "1.0", -1],
  ["1.0~~", "1.0~", -1],
  ["1.0~", "1.0", -1],
  ["1.0", "1.0+b1", -1],
  ["1.0", "1.0a", -1],
  ["1.0a", "1.0+", -1],
  ["1.0-1", "1.0-1~bpo1", 1],
  ["1:0.1", "2.0", 1],
  ["0:1.0", "1.0", 0],
  ["1.0", "1.0-0", 0],
  ["1.00", "1.0", 0],
  ["1.01", "1.1", 0],
  ["6.1.170-3", "6.1.176-1", -1],
  ["6.1.76-1", "6.1.170-3", -1],
  ["6.12.117-1~deb12u1", "6.1.192-2", 1],
  ["6.1.192-2", "6.1.192-2+deb12u1", -1],
  ["4.19.304-1", "4.19.304-1~deb9u1", 1],
  ["2.30-1", "2.30-1ubuntu1", -1],
  ["1.2-3-4", "1.2-3", 1],
  ["a", "B", 1],
  ["1.0.", "1.0", 1],
  ["10", "9", 1],
  ["1.2.3", "1.2.3~", 1],
];

describe("compareDebianVersions", () => {
  it.each(tricky)("orders %s against %s as %i", (a, b, expected) => {
    expect(compareDebianVersions(a, b)).toBe(expected);
    expect(compareDebianVersions(b, a)).toBe(-expected || 0);
  });

  it("agrees with dpkg --compare-versions on tricky and generated pairs", async (context) => {
    const dpkg = await execa("dpkg", ["--version"], { reject: false });
    context.skip(dpkg.exitCode !== 0, "dpkg is not installed, so there is nothing to compare against");
    const pairs = [...tricky.map(([a, b]): [string, string] => [a, b]), ...generatePairs(400)];
    const expected = await dpkgOrders(pairs);
    const mismatches = pairs
      .map(([a, b], index) => ({ a, b, dpkg: expected[index], ours: compareDebianVersions(a, b) }))
      .filter((row) => row.dpkg !== row.ours);
    expect(mismatches).toEqual([]);
  });
});

describe("parseDebianVersion", () => {
  it("splits epoch, upstream and the revision after the last hyphen", () => {
    expect(parseDebianVersion("1:6.1.0-47-3")).toEqual({ epoch: 1, upstream: "6.1.0-47", revision: "3" });
    expect(parseDebianVersion("2.30")).toEqual({ epoch: 0, upstream: "2.30", revision: "" });
  });

  it("rejects an epoch that is not a number and an empty upstream", () => {
    expect(() => parseDebianVersion("a:1.0")).toThrow(FormatError);
    expect(() => parseDebianVersion("-1")).toThrow(FormatError);
  });
});

// dpkg decides each pair once: a shell loop spares 800 process launches from node.
async function dpkgOrders(pairs: [string, string][]): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), "btfmill-dpkg-"));
  try {
    const list = join(dir, "pairs");
    await writeFile(list, pairs.map(([a, b]) => `${a} ${b}\n`).join(""));
    const script = `while read a b; do
      if dpkg --compare-versions "$a" lt "$b"; then echo -1;
      elif dpkg --compare-versions "$a" eq "$b"; then echo 0;
      else echo 1; fi
    done < "$1"`;
    const { stdout } = await execa("sh", ["-c", script, "sh", list]);
    return stdout.split("\n").map(Number);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Versions dpkg accepts: an optional epoch, an upstream starting with a digit, an optional
// revision; pieces chosen to hit `~`, letters, leading zeros and separators. Half of the second
// versions are one-piece mutations of the first, so many pairs differ late.
interface VersionParts {
  epoch: number | undefined;
  upstream: string[];
  revision: string[] | undefined;
}

function generatePairs(count: number): [string, string][] {
  const random = mulberry32(20_240_601);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const leads = ["0", "1", "2", "6", "10"];
  const upstreamPieces = [
    "0",
    "1",
    "2",
    "9",
    "10",
    "01",
    "002",
    ".",
    ".",
    "~",
    "~~",
    "+",
    "a",
    "b",
    "rc",
    "Z",
    "dfsg",
    "+deb12u1",
    "~bpo",
  ];
  const revisionPieces = ["0", "1", "2", "10", "01", ".", "~", "+", "b", "deb12u", "ubuntu", "~bpo11+", "A"];
  const piecesOf = (pieces: readonly string[]): string[] =>
    Array.from({ length: Math.floor(random() * 5) }, () => pick(pieces));
  const randomVersion = (): VersionParts => ({
    epoch: random() < 0.15 ? Math.floor(random() * 3) : undefined,
    upstream: [pick(leads), ...piecesOf(upstreamPieces)],
    revision: random() < 0.6 ? [pick(leads), ...piecesOf(revisionPieces)] : undefined,
  });
  const mutate = (parts: VersionParts): VersionParts => {
    const upstream = [...parts.upstream];
    const at = 1 + Math.floor(random() * upstream.length);
    if (at < upstream.length && random() < 0.7) upstream[at] = pick(upstreamPieces);
    else upstream.splice(at, 0, pick(upstreamPieces));
    return { ...parts, upstream };
  };
  const render = ({ epoch, upstream, revision }: VersionParts): string =>
    `${epoch === undefined ? "" : `${epoch}:`}${upstream.join("")}${revision === undefined ? "" : `-${revision.join("")}`}`;
  return Array.from({ length: count }, (): [string, string] => {
    const a = randomVersion();
    return [render(a), render(random() < 0.5 ? mutate(a) : randomVersion())];
  });
}

function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
