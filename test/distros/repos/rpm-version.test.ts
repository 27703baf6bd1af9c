// rpm's version order, checked against rpm itself: its Lua `rpm.vercmp` parses both sides as
// [epoch:]version[-release] and compares them as rpm compares packages (rpmverCmp), so plain
// strings without `-` and `:` test rpmvercmp and `E:V-R` strings test compareEvr.
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { compareEvr, formatEvr, rpmvercmp } from "../../../distros/repos/rpm-version.ts";
import type { Evr } from "../../../distros/repos/rpm-version.ts";

// rpm answers a whole batch of pairs in one process: one result per line.
async function rpmAnswers(pairs: [string, string][]): Promise<number[]> {
  const table = pairs.map(([a, b]) => `{[==[${a}]==],[==[${b}]==]}`).join(",");
  const script = `%{lua: for _, p in ipairs({${table}}) do print(rpm.vercmp(p[1], p[2]) .. "\\n") end}`;
  const { stdout } = await execa("rpm", ["--eval", script]);
  return stdout.trim().split("\n").map(Number);
}

// Versions from pieces that exercise every rule: numbers with leading zeros, letters, the
// separators rpm skips, tilde and caret.
function randomVersions(count: number, seed: number): [string, string][] {
  const pieces = [
    "0",
    "1",
    "2",
    "01",
    "10",
    "9",
    "147",
    "el8",
    "el8_1",
    "a",
    "b",
    "Z",
    "rc",
    ".",
    ".",
    "_",
    "+",
    "~",
    "^",
    "uek",
  ];
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 8;
  };
  const version = () => Array.from({ length: 1 + (next() % 6) }, () => pieces[next() % pieces.length]).join("");
  return Array.from({ length: count }, () => {
    const a = version();
    // Half the pairs share a prefix, so the interesting tails get compared.
    return [a, next() % 2 === 0 ? a + version() : version()];
  });
}

describe("rpmvercmp", () => {
  it("orders real kernel versions and releases as rpm does", () => {
    expect(rpmvercmp("147.el8", "147.5.1.el8_1")).toBe(-1);
    expect(rpmvercmp("147.5.1.el8_1", "193.el8")).toBe(-1);
    expect(rpmvercmp("70.13.1.el9_0", "70.22.1.el9_0")).toBe(-1);
    expect(rpmvercmp("2047.502.5.el7uek", "2047.502.5.el7uek")).toBe(0);
    expect(rpmvercmp("4.14.243", "4.14.35")).toBe(1);
    expect(rpmvercmp("1.0~rc1", "1.0")).toBe(-1);
    expect(rpmvercmp("1.0^git1", "1.0")).toBe(1);
    expect(rpmvercmp("1.0^git1", "1.0.1")).toBe(-1);
    expect(rpmvercmp("1.01", "1.1")).toBe(0);
    expect(rpmvercmp("1.0a", "1.0")).toBe(1);
    expect(rpmvercmp("1.a", "1.1")).toBe(-1);
  });

  it("agrees with rpm.vercmp on 2,000 generated pairs", async () => {
    const pairs: [string, string][] = [...randomVersions(2000, 7), ["1_0", "1.0"], ["a~", "a"], ["1.0^", "1.0"]];
    const expected = await rpmAnswers(pairs);
    expect(expected).toHaveLength(pairs.length);
    const mismatches = pairs.flatMap(([a, b], index) =>
      rpmvercmp(a, b) === expected[index] ? [] : [`${a} vs ${b}: rpm ${expected[index]}, btfmill ${rpmvercmp(a, b)}`],
    );
    expect(mismatches).toEqual([]);
  });
});

describe("compareEvr", () => {
  it("orders by epoch first, then version, then release", () => {
    expect(compareEvr({ epoch: 1, version: "1.0", release: "1" }, { version: "9.0", release: "9" })).toBe(1);
    expect(
      compareEvr({ version: "4.18.0", release: "147.el8" }, { epoch: 0, version: "4.18.0", release: "193.el8" }),
    ).toBe(-1);
    expect(
      compareEvr({ version: "5.14.21", release: "150500.55.39.1" }, { version: "5.14.21", release: "150500.55.39.1" }),
    ).toBe(0);
  });

  it("agrees with rpm.vercmp on epoch:version-release triples", async () => {
    const versions = randomVersions(300, 11);
    const triples = versions.map(([a, b], index): [Evr, Evr] => [
      { epoch: index % 7 === 0 ? 1 : undefined, version: a, release: b },
      { epoch: index % 11 === 0 ? 1 : 0, version: index % 3 === 0 ? a : b, release: a },
    ]);
    const text = (evr: Evr) => `${evr.epoch === undefined ? "" : `${evr.epoch}:`}${evr.version}-${evr.release}`;
    const expected = await rpmAnswers(triples.map(([a, b]) => [text(a), text(b)]));
    const mismatches = triples.flatMap(([a, b], index) =>
      compareEvr(a, b) === expected[index] ? [] : [`${text(a)} vs ${text(b)}`],
    );
    expect(mismatches).toEqual([]);
  });

  it("prints an epoch only when there is one", () => {
    expect(formatEvr({ version: "4.18.0", release: "147.el8" })).toBe("4.18.0-147.el8");
    expect(formatEvr({ epoch: 2, version: "1.0", release: "1" })).toBe("2:1.0-1");
  });
});
