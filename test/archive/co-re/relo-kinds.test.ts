import { describe, expect, it } from "vitest";
import {
  ReloKind,
  isEnumvalBased,
  isFieldBased,
  isGuarded,
  isReloKind,
  isTypeBased,
  reloKindNames,
} from "../../../archive/co-re/relo-kinds.ts";

const all = Object.values(ReloKind);

describe("CO-RE relocation kinds", () => {
  it("numbers the 13 kinds as the uapi does, FIELD_BYTE_OFFSET 0 to TYPE_MATCHES 12", () => {
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(reloKindNames[ReloKind.TypeMatches]).toBe("TYPE_MATCHES");
    expect(isReloKind(12)).toBe(true);
    expect(isReloKind(13)).toBe(false);
  });

  it("puts every kind in exactly one family: field, type or enum value", () => {
    for (const kind of all) {
      expect(
        [isFieldBased(kind), isTypeBased(kind), isEnumvalBased(kind)].filter(Boolean),
        reloKindNames[kind],
      ).toHaveLength(1);
    }
  });

  it("counts only the *_EXISTS kinds and TYPE_MATCHES as guarded", () => {
    expect(all.filter(isGuarded).map((kind) => reloKindNames[kind])).toEqual([
      "FIELD_EXISTS",
      "TYPE_EXISTS",
      "ENUMVAL_EXISTS",
      "TYPE_MATCHES",
    ]);
  });
});
