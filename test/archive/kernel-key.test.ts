import { describe, expect, it } from "vitest";
import { arches, isArch, keyPath, parseKeyPath, sourceId } from "../../archive/kernel-key.ts";

describe("the kernel key", () => {
  const key = { distro: "ubuntu", release: "20.04", arch: "x86_64", kernel: "5.8.0-63-generic" } as const;

  it("writes its string form as distro/release/arch/kernel and reads it back", () => {
    expect(keyPath(key)).toBe("ubuntu/20.04/x86_64/5.8.0-63-generic");
    expect(parseKeyPath(keyPath(key))).toEqual(key);
  });

  it("names the source as distro/release/arch", () => {
    expect(sourceId(key)).toBe("ubuntu/20.04/x86_64");
  });

  it("reads only four non-empty parts with an arch the archive knows", () => {
    expect(parseKeyPath("debian/12/arm64/6.1.0-47-arm64")?.arch).toBe("arm64");
    for (const text of [
      "debian/12/aarch64/6.1.0-47-arm64",
      "debian/12/x86_64",
      "debian/12/x86_64/a/b",
      "debian//x86_64/k",
      "debian/12/x86_64/",
    ]) {
      expect(parseKeyPath(text), text).toBeUndefined();
    }
  });

  it("knows BTFHub's two arches and nothing else", () => {
    expect(arches).toEqual(["x86_64", "arm64"]);
    expect(isArch("arm64")).toBe(true);
    expect(isArch("amd64")).toBe(false);
    expect(isArch(undefined)).toBe(false);
  });
});
