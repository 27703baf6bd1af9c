import { describe, expect, it } from "vitest";
import { chooseFlags, kernelVersionOf, threadsFlag } from "../../pipeline/pahole-flags.ts";

const pahole = (minor: number) => ({ text: `v1.${minor}`, major: 1, minor });

describe("pahole flags per kernel", () => {
  it("reads the kernel version from uname -r", () => {
    expect(kernelVersionOf("6.1.0-47-cloud-amd64")).toEqual({ major: 6, minor: 1 });
    expect(kernelVersionOf("4.19.0-17-cloud-amd64")).toEqual({ major: 4, minor: 19 });
    expect(kernelVersionOf("linux")).toBeUndefined();
  });

  it("a 6.1 kernel gets every kind pahole 1.24 can emit", () => {
    expect(chooseFlags(pahole(24), { major: 6, minor: 1 })).toEqual(["--btf_gen_floats"]);
  });

  it("a 5.10 kernel gets no ENUM64, TYPE_TAG or DECL_TAG", () => {
    expect(chooseFlags(pahole(24), { major: 5, minor: 10 })).toEqual([
      "--skip_encoding_btf_decl_tag",
      "--skip_encoding_btf_type_tag",
      "--skip_encoding_btf_enum64",
    ]);
  });

  it("a 4.19 kernel also gets no FLOAT, and 5.16 keeps DECL_TAG but not TYPE_TAG", () => {
    expect(chooseFlags(pahole(24), { major: 4, minor: 19 })).not.toContain("--btf_gen_floats");
    expect(chooseFlags(pahole(24), { major: 5, minor: 16 })).toEqual([
      "--btf_gen_floats",
      "--skip_encoding_btf_type_tag",
      "--skip_encoding_btf_enum64",
    ]);
  });

  it("older pahole is not given flags it does not know; newer adds BTFHub's proto flags", () => {
    expect(chooseFlags(pahole(22), { major: 5, minor: 4 })).toEqual([]);
    expect(chooseFlags(pahole(25), { major: 6, minor: 6 })).toEqual([
      "--btf_gen_floats",
      "--btf_gen_optimized",
      "--skip_encoding_btf_inconsistent_proto",
    ]);
  });

  it("pahole 1.26 and later name the features: the kinds the kernel's era knows, BTFHub's proto rule, and no -j dependence", () => {
    const features = (minor: number, major: number, kernelMinor: number) =>
      chooseFlags(pahole(minor), { major, minor: kernelMinor })[0]?.replace("--btf_features=", "").split(",");
    expect(features(30, 6, 12)).toEqual([
      "encode_force",
      "var",
      "float",
      "decl_tag",
      "type_tag",
      "enum64",
      "optimized_func",
      "consistent_func",
      "decl_tag_kfuncs",
      "reproducible_build",
    ]);
    // 6.1: every kind, but no kfunc DECL_TAGs (its own build does not ask for them).
    expect(features(30, 6, 1)).toEqual([
      "encode_force",
      "var",
      "float",
      "decl_tag",
      "type_tag",
      "enum64",
      "optimized_func",
      "consistent_func",
      "reproducible_build",
    ]);
    // 5.10: no FLOAT (5.13), DECL_TAG, TYPE_TAG or ENUM64.
    expect(features(30, 5, 10)).toEqual([
      "encode_force",
      "var",
      "optimized_func",
      "consistent_func",
      "reproducible_build",
    ]);
    expect(features(30, 5, 13)).toEqual([
      "encode_force",
      "var",
      "float",
      "optimized_func",
      "consistent_func",
      "reproducible_build",
    ]);
    expect(features(30, 5, 16)).toContain("decl_tag");
    expect(features(30, 5, 16)).not.toContain("type_tag");
    // 1.26 knows neither kfunc tags nor reproducible_build.
    expect(features(26, 6, 12)).toEqual([
      "encode_force",
      "var",
      "float",
      "decl_tag",
      "type_tag",
      "enum64",
      "optimized_func",
      "consistent_func",
    ]);
  });

  it("-j is passed only to a pahole whose output does not depend on it (1.29 and later)", () => {
    expect(threadsFlag(pahole(30), 2)).toEqual(["-j2"]);
    expect(threadsFlag(pahole(30), 1)).toEqual([]);
    expect(threadsFlag(pahole(24), 2)).toEqual([]);
    expect(threadsFlag(pahole(28), 4)).toEqual([]);
  });

  it("config replaces or extends the chosen flags", () => {
    expect(chooseFlags(pahole(24), { major: 6, minor: 1 }, { flags: ["--btf_gen_floats"] })).toEqual([
      "--btf_gen_floats",
    ]);
    expect(chooseFlags(pahole(24), { major: 6, minor: 1 }, { extraFlags: ["--lang_exclude=rust"] })).toEqual([
      "--btf_gen_floats",
      "--lang_exclude=rust",
    ]);
  });
});
