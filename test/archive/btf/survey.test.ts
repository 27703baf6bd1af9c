// surveyBtf is what validation reads a BTF with: the same verdict, kinds and layouts as a whole
// parse, without keeping the types.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { structLayouts } from "../../../archive/btf/layout.ts";
import { parseBtf } from "../../../archive/btf/parse.ts";
import { surveyBtf } from "../../../archive/btf/survey.ts";
import { FormatError } from "../../../archive/errors.ts";
import { makePaholeBtf } from "../../fixtures/all-kinds.ts";
import { btfBytes, info, nameOffset } from "../../helpers/btf-bytes.ts";
import { hostHasKernelBtf, hostKernelBtf } from "../../helpers/host-kernel-btf.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-survey-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expectSameAsWholeParse(bytes: Uint8Array): void {
  const whole = parseBtf(bytes);
  const survey = surveyBtf(bytes, { layouts: true });
  expect(survey.kinds).toEqual([...new Set(whole.types.map((type) => type.kind))].sort());
  expect(survey.layouts).toEqual(structLayouts(whole));
  expect(surveyBtf(bytes, { layouts: false })).toEqual({ kinds: survey.kinds, layouts: undefined });
}

describe("surveyBtf", () => {
  it("finds the kinds and struct layouts a whole parse finds, on pahole's output of every kind", async () => {
    expectSameAsWholeParse(await readFile(await makePaholeBtf(join(dir, "all-kinds.btf"))));
  });

  it.skipIf(!hostHasKernelBtf)(
    "finds the kinds and struct layouts a whole parse finds, on the running kernel's BTF",
    async () => {
      expectSameAsWholeParse(await readFile(hostKernelBtf));
    },
  );

  it("refuses what parseBtf refuses, with the same message, in any type and not only those layouts read", () => {
    const strings = "\0int\0p\0";
    // A PTR to type 9 of 2: nothing a layout reaches, yet the BTF is broken.
    const badRef = btfBytes({
      strings,
      types: [nameOffset(strings, "int"), info(1), 4, 0x01000020, nameOffset(strings, "p"), info(2), 9],
    });
    expect(() => parseBtf(badRef)).toThrowError(
      "type [2] PTR at offset 40: type refers to type [9] but the last type is [2]",
    );
    for (const layouts of [true, false]) {
      expect(() => surveyBtf(badRef, { layouts })).toThrowError(FormatError);
      expect(() => surveyBtf(badRef, { layouts })).toThrowError(
        "type [2] PTR at offset 40: type refers to type [9] but the last type is [2]",
      );
    }
  });
});
