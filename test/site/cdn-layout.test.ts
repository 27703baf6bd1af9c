import { describe, expect, it } from "vitest";
import { parseKernelPath, setBtfPath } from "../../site/cdn-layout.ts";

describe("parseKernelPath", () => {
  it("reads the root's and a set's BTF paths, the inverse of setBtfPath", () => {
    const key = { distro: "debian", release: "12", arch: "x86_64", kernel: "6.1.0-47-cloud-amd64" } as const;
    expect(parseKernelPath(setBtfPath("all", key))).toEqual({
      set: "all",
      key: "debian/12/x86_64/6.1.0-47-cloud-amd64",
    });
    expect(parseKernelPath(setBtfPath("net", key))).toEqual({
      set: "net",
      key: "debian/12/x86_64/6.1.0-47-cloud-amd64",
    });
  });

  it("refuses paths that name no kernel's BTF", () => {
    for (const path of [
      "debian/12/aarch64/k.btf",
      "debian/12/x86_64/k.btf.tar.xz",
      "sets/net/debian/12/x86_64.btf",
      "manifest.json",
      "debian/12/x86_64/k/x.btf",
    ]) {
      expect(parseKernelPath(path), path).toBeUndefined();
    }
  });

  it("takes a distro named sets as a distro when the path holds no set", () => {
    expect(parseKernelPath("sets/12/x86_64/k.btf")).toEqual({ set: "all", key: "sets/12/x86_64/k" });
  });
});
