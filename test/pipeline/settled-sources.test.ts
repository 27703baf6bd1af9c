// What settles a source: its key changes with every input a source's work depends on and with
// nothing else, and the work check sees a kernel to convert, a skip to record and a set to minify.
import { describe, expect, it } from "vitest";
import { emptyManifest, type ManifestEntry } from "../../archive/manifest.ts";
import type { KernelPackage } from "../../distros/types.ts";
import type { FlavorChain } from "../../pipeline/flavor-chains.ts";
import { packageCount, settleKey, sourceHasWork, type SettleInputs } from "../../pipeline/settled-sources.ts";
import { localArchiveFiles } from "../../site/state/archive-files.ts";
import { filelessEntry } from "../fixtures/manifest-entry.ts";

const inputs: SettleInputs = {
  configs: [{ distro: "debian", release: "12", arch: "x86_64", mirror: ["http://127.0.0.1:1/debian"] }],
  sets: [{ name: "net", objects: [], fingerprint: "f1" }],
  retryFailed: false,
  reconvertUnless: undefined,
};
const stamps = ["stamp-a"];

describe("settleKey", () => {
  it("is the same for the same inputs and differs when any one of them changes", () => {
    const key = settleKey(inputs, stamps, "folder-1");
    expect(settleKey({ ...inputs, configs: [...inputs.configs] }, [...stamps], "folder-1")).toBe(key);
    const changed = [
      settleKey(inputs, ["stamp-b"], "folder-1"),
      settleKey(inputs, stamps, "folder-2"),
      settleKey({ ...inputs, configs: [{ ...inputs.configs[0]!, latest: 1 }] }, stamps, "folder-1"),
      settleKey({ ...inputs, sets: [{ name: "net", objects: [], fingerprint: "f2" }] }, stamps, "folder-1"),
      settleKey({ ...inputs, sets: [] }, stamps, "folder-1"),
      settleKey({ ...inputs, retryFailed: true }, stamps, "folder-1"),
      settleKey({ ...inputs, reconvertUnless: "v1.30 abc" }, stamps, "folder-1"),
    ];
    expect(new Set([key, ...changed]).size).toBe(changed.length + 1);
  });
});

describe("sourceHasWork", () => {
  const pkg = (kernel: string, sha256: string): KernelPackage => ({
    key: { distro: "debian", release: "12", arch: "x86_64", kernel },
    flavor: "cloud-amd64",
    name: `linux-image-${kernel}-dbg`,
    version: "1",
    url: `http://127.0.0.1:1/${kernel}.deb`,
    sha256,
    size: 1,
    format: "deb",
    vmlinuxPath: `usr/lib/debug/boot/vmlinux-${kernel}`,
    origin: "bookworm",
  });
  const failed = (item: KernelPackage): ManifestEntry =>
    filelessEntry(item.key, {
      status: "failed",
      reason: "no vmlinux in the package",
      flavor: item.flavor,
      sha256: item.sha256,
    });
  const chain = (packages: KernelPackage[]): FlavorChain[] => [
    { unit: "debian/12/x86_64/cloud-amd64", packages, stopAtBtf: false, ownBtf: false },
  ];
  const options = {
    files: localArchiveFiles("/nonexistent"),
    sets: [],
    retryFailed: false,
    reconvertUnless: undefined,
    include: () => true,
  };

  it("sees a new kernel, and none once every kernel has its lasting outcome recorded", async () => {
    const manifest = emptyManifest();
    const kernels = [pkg("6.1.0-1-cloud-amd64", "a".repeat(64)), pkg("6.1.0-2-cloud-amd64", "b".repeat(64))];
    const entries = () => Object.values(manifest.kernels);
    expect(await sourceHasWork(manifest, chain(kernels), entries, options)).toBe(true);
    for (const item of kernels) manifest.kernels[`debian/12/x86_64/${item.key.kernel}`] = failed(item);
    expect(await sourceHasWork(manifest, chain(kernels), entries, options)).toBe(false);
    expect(await sourceHasWork(manifest, chain(kernels), entries, { ...options, retryFailed: true })).toBe(true);
    expect(packageCount(chain(kernels))).toBe(2);
  });
});
