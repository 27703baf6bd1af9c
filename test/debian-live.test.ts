// Discovery against the Debian mirror this machine's apt sources name: the one test that proves
// the readers on the real archive's files and signatures. Skipped, with the reason, offline.
import { beforeAll, describe, expect, it } from "vitest";
import { DebianSource } from "../distros/debian.ts";
import { loadAptSources } from "../distros/repos/apt-sources.ts";

const probeTimeoutMs = 5_000;

describe("DebianSource against the machine's Debian mirror", () => {
  let unreachable: string | undefined;

  beforeAll(async () => {
    const entry = (await loadAptSources()).find((source) => source.type === "deb" && source.suites.some((suite) => /^bookworm([-/]|$)/.test(suite)));
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
    const found = await new DebianSource({ distro: "debian", release: "12", arch: "x86_64", flavors: ["cloud-amd64"] }).discover();
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
});
