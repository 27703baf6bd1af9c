// A source's `modules` as the manifest records it: one key for every spelling and order of one selection.
import { describe, expect, it } from "vitest";
import { moduleSelectionKey } from "../../pipeline/module-selection.ts";

describe("moduleSelectionKey", () => {
  it("gives one key for a selection reordered, respelled with dashes, or with a module named twice", () => {
    const key = moduleSelectionKey(["xfs", "nf_nat"]);
    expect(key).toEqual(["nf_nat", "xfs"]);
    expect(moduleSelectionKey(["nf-nat", "xfs"])).toEqual(key);
    expect(moduleSelectionKey(["xfs", "nf-nat", "nf_nat"])).toEqual(key);
  });

  it('keeps "all" as it is, and tells different selections apart', () => {
    expect(moduleSelectionKey("all")).toBe("all");
    expect(moduleSelectionKey(["xfs"])).not.toEqual(moduleSelectionKey(["xfs", "ext4"]));
  });
});
