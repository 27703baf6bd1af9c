// What every apt-based distro gets from AptFamilySource, seen through a minimal distro of its own:
// the config checks, each suite from the first mirror that has it, screening (arch, meta
// packages, the distro's own reasons), one package per kernel, and default suites that may be absent.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, FetchError, IntegrityError } from "../../archive/errors.ts";
import { AptFamilySource, type AptCandidate, type KernelName } from "../../distros/apt-family.ts";
import type { AptRepository } from "../../distros/repos/apt.ts";
import type { SourceConfig } from "../../distros/types.ts";
import {
  buildAptMirror,
  createSigningKey,
  removeInRelease,
  resignSuite,
  tamperRelease,
  writeListedSuite,
  type AptMirror,
  type ListedAptPackage,
} from "../fixtures/apt-mirror.ts";
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

describe("AptFamilySource stamp and verify", () => {
  // Each test changes its own mirror (`<release>` and `<release>-updates`), signed with the shared key.
  let stamped: StaticServer;
  let count = 0;

  beforeAll(async () => {
    await mkdir(join(work, "stamped"));
    stamped = await startStaticServer(join(work, "stamped"));
  });

  afterAll(async () => {
    await stamped?.close();
  });

  async function freshMirror(options: { validUntil?: Date; updatesValidUntil?: Date } = {}) {
    const name = `m${++count}`;
    const built = await buildAptMirror(join(work, "stamped", name), { arch: "amd64", suites: {}, key: mirror.key });
    const withDate = (date: Date | undefined) => (date === undefined ? {} : { validUntil: date });
    await writeListedSuite(
      built,
      "one",
      [listed("linux-image-6.1.0-18-amd64-dbg", "6.1.76-1")],
      withDate(options.validUntil),
    );
    await writeListedSuite(
      built,
      "one-updates",
      [listed("linux-image-6.1.0-19-amd64-dbg", "6.1.77-1")],
      withDate(options.updatesValidUntil ?? options.validUntil),
    );
    return { built, url: `${stamped.url}/${name}` };
  }

  const at = (url: string, config: Partial<SourceConfig> = {}) => source({ mirror: [url], ...config });

  // The paths a call asked the mirror for, with their statuses.
  async function asked<T>(call: () => Promise<T>): Promise<{ result: T; paths: string[] }> {
    const before = stamped.requests.length;
    const result = await call();
    return { result, paths: stamped.requests.slice(before).map((request) => `${request.path} ${request.status}`) };
  }

  it("gives the same stamp on every call over an unchanged mirror, the survey's own, from the InRelease files alone", async () => {
    const { url } = await freshMirror();
    const name = url.slice(stamped.url.length);
    const first = await asked(() => at(url).stamp());
    const second = await at(url).stamp();
    const survey = await at(url).survey();
    expect(first.result).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toBe(first.result);
    expect(survey.stamp).toBe(first.result);
    expect(first.paths.sort()).toEqual([`${name}/dists/one-updates/InRelease 200`, `${name}/dists/one/InRelease 200`]);
  });

  it("does not verify: a tampered InRelease gives another stamp, which the survey then refuses", async () => {
    const { built, url } = await freshMirror();
    const before = await at(url).stamp();
    await tamperRelease(built, "one");
    const after = await at(url).stamp();
    expect(after).toMatch(/^[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
    await expect(at(url).survey()).rejects.toThrow(/BADSIG/);
  });

  it("changes when a suite is signed again over the same Packages, and the survey agrees", async () => {
    const { built, url } = await freshMirror();
    const before = await at(url).survey();
    // OpenPGP signatures carry their creation time in seconds: a later second makes other bytes.
    await sleep(1100);
    await resignSuite(built, "one", built.key);
    const after = await at(url).survey();
    expect(after.packages).toEqual(before.packages);
    expect(after.stamp).not.toBe(before.stamp);
    expect(await at(url).stamp()).toBe(after.stamp);
  });

  it("changes when the keyring file is replaced by another, at the same path", async () => {
    const { url } = await freshMirror();
    const keyring = join(work, "stamped", "swapped.gpg");
    await copyFile(mirror.keyring, keyring);
    const before = await at(url, { keyring }).stamp();
    const other = await createSigningKey(await mkdtemp(join(work, "k")), "another archive");
    await writeFile(keyring, Buffer.concat([await readFile(mirror.keyring), await readFile(other.keyring)]));
    const after = await at(url, { keyring }).stamp();
    expect(after).not.toBe(before);
    expect((await at(url, { keyring }).survey()).stamp).toBe(after);
  });

  it("changes when a default suite that may be missing goes away from the mirror, and the survey names it absent", async () => {
    const { built, url } = await freshMirror();
    const before = await at(url).stamp();
    await rm(join(built.root, "dists", "one-updates"), { recursive: true });
    const after = await at(url).stamp();
    expect(after).not.toBe(before);
    const survey = await at(url).survey();
    expect(survey.absentSuites).toEqual(["one-updates"]);
    expect(survey.stamp).toBe(after);
  });

  it("stamps Release and Release.gpg on a mirror without InRelease, and the plain Release of an insecure source", async () => {
    const { built, url } = await freshMirror();
    const name = url.slice(stamped.url.length);
    const signed = await at(url).stamp();
    await removeInRelease(built, "one");
    await removeInRelease(built, "one-updates");
    const { result, paths } = await asked(() => at(url).stamp());
    expect(result).not.toBe(signed);
    expect((await at(url).survey()).stamp).toBe(result);
    expect(paths.filter((path) => path.includes("/dists/one/")).sort()).toEqual([
      `${name}/dists/one/InRelease 404`,
      `${name}/dists/one/Release 200`,
      `${name}/dists/one/Release.gpg 200`,
    ]);
    const insecure = await asked(() => at(url, { keyring: undefined, insecure: true }).stamp());
    expect(insecure.paths.sort()).toEqual([`${name}/dists/one-updates/Release 200`, `${name}/dists/one/Release 200`]);
    expect((await at(url, { keyring: undefined, insecure: true }).survey()).stamp).toBe(insecure.result);
  });

  it("fails as the survey does, with a FetchError, when no mirror can be reached", async () => {
    const unreachable = at("http://127.0.0.1:1");
    const stampError = await unreachable.stamp().catch((caught: unknown) => caught);
    const surveyError = await unreachable.survey().catch((caught: unknown) => caught);
    // The suites are asked at once: either may be the first to fail, in either call.
    const unreached =
      /^suite one(-updates)? was found on none of the mirrors tried: http:\/\/127\.0\.0\.1:1 \(cannot reach /;
    for (const error of [stampError, surveyError]) {
      expect(error).toBeInstanceOf(FetchError);
      expect((error as FetchError).message).toMatch(unreached);
    }
  });

  it("verifies to the stamp and content stamp the survey gives over an unchanged mirror, asking for the InRelease files alone", async () => {
    const { url } = await freshMirror({ validUntil: new Date(Date.now() + 86_400_000) });
    const name = url.slice(stamped.url.length);
    const { result, paths } = await asked(() => at(url).verify());
    const survey = await at(url).survey();
    expect(result.stamp).toBe(await at(url).stamp());
    expect(result.contentStamp).toMatch(/^[0-9a-f]{64}$/);
    expect(result.contentStamp).not.toBe(result.stamp);
    expect(result).toEqual({ stamp: survey.stamp, contentStamp: survey.contentStamp, validUntil: survey.validUntil });
    expect(paths.sort()).toEqual([`${name}/dists/one-updates/InRelease 200`, `${name}/dists/one/InRelease 200`]);
  });

  it("keeps the content stamp when a suite is signed again over the same Packages, while the raw stamp changes", async () => {
    const { built, url } = await freshMirror();
    const before = await at(url).verify();
    await sleep(1100);
    await resignSuite(built, "one", built.key);
    const after = await at(url).verify();
    expect(after.stamp).not.toBe(before.stamp);
    expect(after.stamp).toBe(await at(url).stamp());
    expect(after.contentStamp).toBe(before.contentStamp);
    expect((await at(url).survey()).contentStamp).toBe(after.contentStamp);
  });

  it("changes the content stamp when a suite's Packages lists other packages, as the survey's does", async () => {
    const { built, url } = await freshMirror();
    const before = await at(url).verify();
    await writeListedSuite(built, "one", [listed("linux-image-6.1.0-20-amd64-dbg", "6.1.80-1")]);
    const after = await at(url).verify();
    expect(after.contentStamp).not.toBe(before.contentStamp);
    expect((await at(url).survey()).contentStamp).toBe(after.contentStamp);
  });

  it("changes the content stamp when a default suite goes away from the mirror, as the survey's does", async () => {
    const { built, url } = await freshMirror();
    const before = await at(url).verify();
    await rm(join(built.root, "dists", "one-updates"), { recursive: true });
    const after = await at(url).verify();
    expect(after.contentStamp).not.toBe(before.contentStamp);
    expect((await at(url).survey()).contentStamp).toBe(after.contentStamp);
  });

  it("refuses a tampered InRelease with the survey's IntegrityError", async () => {
    const { built, url } = await freshMirror();
    await tamperRelease(built, "one");
    const verifyError = await at(url)
      .verify()
      .catch((caught: unknown) => caught);
    const surveyError = await at(url)
      .survey()
      .catch((caught: unknown) => caught);
    expect(verifyError).toBeInstanceOf(IntegrityError);
    expect((verifyError as Error).message).toMatch(/BADSIG/);
    expect((verifyError as Error).message).toBe((surveyError as Error).message);
  });

  it("refuses a Release past its Valid-Until as the survey does, and accepts it when Valid-Until is not checked", async () => {
    const { url } = await freshMirror({
      validUntil: new Date(Date.now() - 86_400_000),
      updatesValidUntil: new Date(Date.now() + 86_400_000),
    });
    const verifyError = await at(url)
      .verify()
      .catch((caught: unknown) => caught);
    const surveyError = await at(url)
      .survey()
      .catch((caught: unknown) => caught);
    expect(verifyError).toBeInstanceOf(Error);
    expect((verifyError as Error).constructor).toBe((surveyError as Error).constructor);
    expect((verifyError as Error).message).toBe((surveyError as Error).message);
    expect((verifyError as Error).message).toMatch(/^Release of suite one at .* expired on /);
    const unchecked = await at(url, { checkValidUntil: false }).verify();
    expect(unchecked.contentStamp).toBe((await at(url, { checkValidUntil: false }).survey()).contentStamp);
    expect(unchecked.validUntil).toBeUndefined();
  });

  it("reports the earliest Valid-Until of the Releases it checked, and none when Valid-Until is not checked", async () => {
    const soon = new Date(Date.now() + 86_400_000);
    const later = new Date(Date.now() + 7 * 86_400_000);
    const { url } = await freshMirror({ validUntil: later, updatesValidUntil: soon });
    const survey = await at(url).survey();
    expect(survey.validUntil).toBe(new Date(Math.floor(soon.getTime() / 1000) * 1000).toISOString());
    expect((await at(url, { checkValidUntil: false }).survey()).validUntil).toBeUndefined();
    const plain = await freshMirror();
    expect((await at(plain.url).survey()).validUntil).toBeUndefined();
  });
});
