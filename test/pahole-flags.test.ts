import { describe, expect, it } from "vitest";
import { chooseFlags, kernelVersionOf } from "../pipeline/pahole-flags.ts";

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
    expect(chooseFlags(pahole(24), { major: 5, minor: 16 })).toEqual(["--btf_gen_floats", "--skip_encoding_btf_type_tag", "--skip_encoding_btf_enum64"]);
  });

  it("older pahole is not given flags it does not know; newer adds BTFHub's proto flags", () => {
    expect(chooseFlags(pahole(22), { major: 5, minor: 4 })).toEqual([]);
    expect(chooseFlags(pahole(25), { major: 6, minor: 6 })).toEqual(["--btf_gen_floats", "--btf_gen_optimized", "--skip_encoding_btf_inconsistent_proto"]);
  });

  it("config replaces or extends the chosen flags", () => {
    expect(chooseFlags(pahole(24), { major: 6, minor: 1 }, { flags: ["--btf_gen_floats"] })).toEqual(["--btf_gen_floats"]);
    expect(chooseFlags(pahole(24), { major: 6, minor: 1 }, { extraFlags: ["--lang_exclude=rust"] })).toEqual(["--btf_gen_floats", "--lang_exclude=rust"]);
  });
});
