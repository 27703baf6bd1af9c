// What every apt-based distro gets from AptFamilySource, seen through a minimal distro of its own:
// the config checks, each suite from the first mirror that has it, screening (arch, meta
// packages, the distro's own reasons), one package per kernel, and default suites that may be absent.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, FetchError } from "../../archive/errors.ts";
import { AptFamilySource, type AptCandidate, type KernelName } from "../../distros/apt-family.ts";
import type { AptRepository } from "../../distros/repos/apt.ts";
import type { SourceConfig } from "../../distros/types.ts";
import { buildAptMirror, writeListedSuite, type AptMirror, type ListedAptPackage } from "../fixtures/apt-mirror.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

// A distro with suites <release> and <release>-updates (which may be absent), kernels
// `linux-image-<version>-<abi>-<flavor>-dbg`, and packages under 1000 bytes refused as stubs.
class MinimalAptSource extends AptFamilySource {
  constructor(config: SourceConfig) {
    super(config, {
      distro: "minimal",
      label: "Minimal",
      candidateName: /^linux-image-.*-dbg$/,
      packageSuffix: "-dbg",
      defaultKeyring: { hint: "give the Minimal keyring" },
    });
  }
  protected releaseSuites(release: string): string[] {
    return [release, `${release}-updates`];
  }
  protected parseName(name: string): KernelName | undefined {
    const match = /^linux-image-(\d[^-]*-\d+-([a-z0-9-]+))-dbg$/.exec(name);
    return match === null ? undefined : { kernel: match[1]!, flavor: match[2]! };
  }
  protected async defaultRepositories(): Promise<(suite: string) => AptRepository[]> {
    throw new ConfigError("Minimal has no default mirror");
  }
  protected override mayLack(suite: string): boolean {
    return suite.endsWith("-updates");
  }
  protected override rejectReason(candidate: AptCandidate): string | undefined {
    return candidate.record.size < 1000 ? "a stub" : undefined;
  }
}

const sha = (n: number) => n.toString(16).padStart(64, "0");
const listed = (name: string, version: string, size = 5000): ListedAptPackage => ({
  name,
  version,
  filename: `pool/main/l/linux/${name}_${version}_amd64.deb`,
  size,
  sha256: sha(size),
});

let work: string;
let mirror: AptMirror;
let server: StaticServer;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-apt-family-"));
  mirror = await buildAptMirror(join(work, "mirror"), { arch: "amd64", suites: {} });
  await writeListedSuite(mirror, "one", [
    listed("linux-image-6.1.0-18-amd64-dbg", "6.1.76-1"),
    listed("linux-image-6.1.0-17-amd64-dbg", "6.1.69-1"),
    listed("linux-image-6.1.0-18-cloud-amd64-dbg", "6.1.76-1"),
    listed("linux-image-amd64-dbg", "6.1.76-1"),
    listed("linux-image-6.1.0-16-amd64-dbg", "6.1.67-1", 10),
  ]);
  await writeListedSuite(mirror, "one-updates", [listed("linux-image-6.1.0-18-amd64-dbg", "6.1.76-1+deb12u1")]);
  await writeListedSuite(mirror, "two", [listed("linux-image-6.6.0-1-amd64-dbg", "6.6.3-1")]);
  server = await startStaticServer(join(work, "mirror"));
});

afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const source = (config: Partial<SourceConfig>) =>
  new MinimalAptSource({
    distro: "minimal",
    release: "one",
    arch: "x86_64",
    keyring: mirror.keyring,
    mirror: [`${server.url}/`],
    ...config,
  });

describe("AptFamilySource", () => {
  it("refuses a config for another distro, one with both keyring and insecure, and one with no keyring to use", () => {
    expect(() => source({ distro: "debian" })).toThrow(/the Minimal source got a config for "debian"/);
    expect(() => source({ insecure: true })).toThrow(/sets both `keyring` and `insecure`/);
    const error = (() => {
      try {
        return source({ keyring: undefined });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).hint).toBe("give the Minimal keyring");
  });

  it("keeps one package per kernel (the higher version, from updates), newest first per flavor, with the deb's URL and vmlinux path", async () => {
    const survey = await source({}).survey();
    expect(survey.packages.map((pkg) => `${pkg.flavor} ${pkg.key.kernel} ${pkg.version} ${pkg.origin}`)).toEqual([
      "amd64 6.1.0-18-amd64 6.1.76-1+deb12u1 one-updates",
      "amd64 6.1.0-17-amd64 6.1.69-1 one",
      "cloud-amd64 6.1.0-18-cloud-amd64 6.1.76-1 one",
    ]);
    expect(survey.packages[0]).toMatchObject({
      key: { distro: "minimal", release: "one", arch: "x86_64", kernel: "6.1.0-18-amd64" },
      url: `${server.url}/pool/main/l/linux/linux-image-6.1.0-18-amd64-dbg_6.1.76-1+deb12u1_amd64.deb`,
      format: "deb",
      vmlinuxPath: "usr/lib/debug/boot/vmlinux-6.1.0-18-amd64",
    });
    expect(survey.skipped).toEqual([
      {
        name: "linux-image-amd64-dbg",
        version: "6.1.76-1",
        suite: "one",
        reason: "a meta package: its name carries no kernel release",
      },
      { name: "linux-image-6.1.0-16-amd64-dbg", version: "6.1.67-1", suite: "one", reason: "a stub" },
    ]);
    expect(survey.absentSuites).toEqual([]);
  });

  it("reads a default suite that may be missing as absent, but fails on a listed suite that is missing", async () => {
    const survey = await source({ release: "two" }).survey();
    expect(survey.packages.map((pkg) => pkg.key.kernel)).toEqual(["6.6.0-1-amd64"]);
    expect(survey.absentSuites).toEqual(["two-updates"]);
    await expect(source({ release: "two", suites: ["two", "two-updates"] }).survey()).rejects.toThrow(FetchError);
  });

  it("applies the configured flavors and `latest`, and names the flavors it has when one is missing", async () => {
    const packages = await source({ flavors: ["amd64"], latest: 1 }).discover();
    expect(packages.map((pkg) => pkg.key.kernel)).toEqual(["6.1.0-18-amd64"]);
    await expect(source({ flavors: ["rt-amd64"] }).discover()).rejects.toThrow(
      "Minimal one x86_64 has no -dbg kernels of flavor rt-amd64",
    );
  });
});
