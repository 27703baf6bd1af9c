// Discovery against the Debian mirror this machine's apt sources name: the one test that proves
// the readers on the real archive's files and signatures. Skipped, with the reason, offline.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import type { ManifestEntry } from "../../archive/manifest.ts";
import { DebianSource } from "../../distros/debian.ts";
import { compareDebianVersions } from "../../distros/repos/deb-version.ts";
import { loadAptSources } from "../../distros/repos/apt-sources.ts";
import type { KernelPackage } from "../../distros/types.ts";
import { processKernel } from "../../pipeline/process-kernel.ts";
import { bpftoolVersion } from "../../pipeline/tools/bpftool.ts";
import { paholeVersion } from "../../pipeline/tools/pahole.ts";

const probeTimeoutMs = 5_000;

describe("DebianSource against the machine's Debian mirror", () => {
  let unreachable: string | undefined;

  beforeAll(async () => {
    const entry = (await loadAptSources()).find(
      (source) => source.type === "deb" && source.suites.some((suite) => /^bookworm([-/]|$)/.test(suite)),
    );
    if (entry === undefined) {
      unreachable = "no apt source of this machine lists a bookworm suite";
      return;
    }
    const url = `${entry.uri}/dists/bookworm/InRelease`;
    try {
      const response = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(probeTimeoutMs) });
      if (!response.ok) unreachable = `HEAD ${url} answered HTTP ${response.status}`;
    } catch (error) {
      unreachable = `HEAD ${url} failed within ${probeTimeoutMs} ms: ${(error as Error).message}`;
    }
  });

  it("finds verified linux-image-6.1.*-cloud-amd64-dbg packages over 100 MB in Debian 12", async (context) => {
    context.skip(unreachable !== undefined, `mirror unreachable: ${unreachable}`);
    const found = await new DebianSource({
      distro: "debian",
      release: "12",
      arch: "x86_64",
      flavors: ["cloud-amd64"],
    }).discover();
    const kernels = found.filter((item) => /^linux-image-6\.1\.\d+-\d+-cloud-amd64-dbg$/.test(item.name));
    expect(kernels.length).toBeGreaterThan(0);
    for (const item of kernels) {
      expect(item.size).toBeGreaterThan(100 * 1024 * 1024);
      expect(item.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(item.url).toMatch(new RegExp(`/pool/.*/${item.name.replace(/[.+]/g, "\\$&")}_.*_amd64\\.deb$`));
      expect(item.vmlinuxPath).toBe(`usr/lib/debug/boot/vmlinux-${item.key.kernel}`);
      expect(["bookworm", "bookworm-updates", "bookworm-security"]).toContain(item.origin);
    }
  });

  it("converts the newest 6.1 cloud-amd64 kernel, and its BTF matches the kernel's own .BTF", {
    timeout: 15 * 60_000,
  }, async (context) => {
    context.skip(unreachable !== undefined, `mirror unreachable: ${unreachable}`);
    const found = await new DebianSource({
      distro: "debian",
      release: "12",
      arch: "x86_64",
      flavors: ["cloud-amd64"],
    }).discover();
    const newest61 = found
      .filter((item) => /^6\.1\.\d+-\d+-cloud-amd64$/.test(item.key.kernel))
      .sort((a, b) => compareDebianVersions(b.version, a.version))[0]!;
    const entry = await convertChecked(newest61);
    expect(entry.kinds).toEqual(expect.arrayContaining(["STRUCT", "FUNC", "ENUM64", "FLOAT"]));
  });
  // pahole reads the foreign-arch ELF, so an arm64 kernel is converted and checked on any host.
  // The smallest arm64 package of Debian 11 (bullseye's main suite: its security pool answers
  // 404 on this mirror) and 12 keeps the download near 250 MB.
  it("converts the smallest arm64 -dbg kernel on this host, and its BTF matches the kernel's own .BTF", {
    timeout: 15 * 60_000,
  }, async (context) => {
    context.skip(unreachable !== undefined, `mirror unreachable: ${unreachable}`);
    const found = [
      ...(await new DebianSource({ distro: "debian", release: "11", arch: "arm64", suites: ["bullseye"] }).discover()),
      ...(await new DebianSource({ distro: "debian", release: "12", arch: "arm64" }).discover()),
    ];
    const smallest = found.reduce((a, b) => (b.size < a.size ? b : a));
    expect(smallest.url).toMatch(/_arm64\.deb$/);
    const entry = await convertChecked(smallest);
    expect(entry.key.arch).toBe("arm64");
  });
});

// Converts one real package into a scratch archive, as a run does, and checks what every real
// kernel must give: an ok entry whose BTF matched the kernel's own .BTF, and a stored tarball
// whose bytes are the entry's.
async function convertChecked(pkg: KernelPackage): Promise<ManifestEntry> {
  const archiveRoot = await mkdtemp(join(tmpdir(), "btfmill-live-"));
  try {
    const entry = await processKernel(pkg, {
      archiveRoot,
      pahole: await paholeVersion(),
      bpftool: await bpftoolVersion(),
      paholeConfig: {},
      onStage: () => {},
      now: () => new Date(),
    });
    expect(entry.reason).toBeUndefined();
    expect(entry).toMatchObject({ status: "ok", kernelHasBtf: true });
    expect(entry.kernelBtf!.layouts).toBeGreaterThan(1_000);
    expect(entry.btf!.size).toBeGreaterThan(3_000_000);
    expect(await digestFile(join(archiveRoot, entry.tarball!.path))).toEqual({
      sha256: entry.tarball!.sha256,
      size: entry.tarball!.size,
    });
    return entry;
  } finally {
    await rm(archiveRoot, { recursive: true, force: true });
  }
}
