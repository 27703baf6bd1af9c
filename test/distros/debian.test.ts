import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DebianSource, debianSuites, parseDebianKernelPackage } from "../../distros/debian.ts";
import type { KernelPackage, SourceConfig } from "../../distros/types.ts";
import { ConfigError, FetchError, IntegrityError } from "../../archive/errors.ts";
import {
  buildAptMirror,
  corruptPackagesIndex,
  createSigningKey,
  dbgPackage,
  removeInRelease,
  resignSuite,
} from "../fixtures/apt-mirror.ts";
import type { AptMirror, BuiltAptPackage, SigningKey } from "../fixtures/apt-mirror.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { startStaticServer } from "../helpers/static-server.ts";
import type { StaticServer } from "../helpers/static-server.ts";

describe("debianSuites", () => {
  it("names the point release, -updates and the security suite of each layout", () => {
    expect(debianSuites("12")).toEqual(["bookworm", "bookworm-updates", "bookworm-security"]);
    expect(debianSuites("11")).toEqual(["bullseye", "bullseye-updates", "bullseye-security"]);
    expect(debianSuites("10")).toEqual(["buster", "buster-updates", "buster/updates"]);
    expect(debianSuites("9")).toEqual(["stretch", "stretch-updates", "stretch/updates"]);
  });

  it("refuses a release it has no codename for", () => {
    expect(() => debianSuites("bookworm")).toThrow(ConfigError);
  });
});

describe("parseDebianKernelPackage", () => {
  it.each([
    ["linux-image-6.1.0-47-cloud-amd64-dbg", "6.1.0-47-cloud-amd64", "cloud-amd64"],
    ["linux-image-6.1.0-47-amd64-dbg", "6.1.0-47-amd64", "amd64"],
    ["linux-image-6.1.0-47-rt-arm64-dbg", "6.1.0-47-rt-arm64", "rt-arm64"],
    ["linux-image-5.10.0-0.deb10.16-amd64-dbg", "5.10.0-0.deb10.16-amd64", "amd64"],
    ["linux-image-4.19.0-0.bpo.6-cloud-amd64-dbg", "4.19.0-0.bpo.6-cloud-amd64", "cloud-amd64"],
    ["linux-image-6.12.38+deb13-arm64-16k-dbg", "6.12.38+deb13-arm64-16k", "arm64-16k"],
  ])("reads %s as kernel %s, flavor %s", (name, kernel, flavor) => {
    expect(parseDebianKernelPackage(name)).toEqual({ kernel, flavor });
  });

  it.each([
    "linux-image-cloud-amd64-dbg",
    "linux-image-amd64-dbg",
    "linux-image-6.1.0-47-cloud-amd64",
    "linux-headers-6.1.0-47-amd64",
  ])("skips %s", (name) => {
    expect(parseDebianKernelPackage(name)).toBeUndefined();
  });
});

describe("DebianSource against a loopback mirror", () => {
  let dir: string;
  let server: StaticServer;
  let key: SigningKey;
  let main: AptMirror;
  let security: AptMirror;
  let vmlinux: string;

  const config = (overrides: Partial<SourceConfig> = {}): SourceConfig => ({
    distro: "debian",
    release: "12",
    arch: "x86_64",
    mirror: [`${server.url}/debian`, `${server.url}/debian-security`],
    keyring: key.keyring,
    ...overrides,
  });
  const built = (mirror: AptMirror, name: string, suite: string): BuiltAptPackage =>
    mirror.packages.find((item) => item.name === name && item.suite === suite)!;
  const summary = (found: KernelPackage[]) =>
    found.map((item) => `${item.flavor} ${item.key.kernel} ${item.version} ${item.origin}`);
  // A host's apt sources as Debian 12 installs them: the archive and the security archive, deb822.
  const bookwormAptRoot = async (name: string): Promise<string> => {
    const root = join(dir, name);
    await mkdir(join(root, "etc/apt/sources.list.d"), { recursive: true });
    const stanza = (uri: string, suites: string) =>
      `Types: deb\nURIs: ${uri}\nSuites: ${suites}\nComponents: main\nSigned-By: ${key.keyring}\n`;
    await writeFile(
      join(root, "etc/apt/sources.list.d/debian.sources"),
      `${stanza(`${server.url}/debian`, "bookworm bookworm-updates")}\n${stanza(`${server.url}/debian-security`, "bookworm-security")}`,
    );
    return root;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-debian-"));
    vmlinux = await makeVmlinux(join(dir, "vmlinux"));
    key = await createSigningKey(dir, "archive");
    const kernel = (name: string, version: string) => dbgPackage({ kernel: name, version, vmlinux });
    main = await buildAptMirror(join(dir, "debian"), {
      arch: "amd64",
      key,
      suites: {
        bookworm: [
          kernel("6.1.0-10-amd64", "6.1.40-1"),
          kernel("6.1.0-10-cloud-amd64", "6.1.40-1"),
          kernel("6.1.0-10-rt-amd64", "6.1.40-1"),
          kernel("6.1.0-11-amd64", "6.1.50-1"),
          kernel("6.1.0-11-cloud-amd64", "6.1.50-1"),
          // The meta package that depends on the newest kernel: not a kernel itself.
          {
            name: "linux-image-cloud-amd64-dbg",
            version: "6.1.50-1",
            source: "linux",
            files: [{ path: "usr/share/doc/meta/README", contents: "meta\n" }],
          },
          { name: "hello", version: "2.10-3", files: [{ path: "usr/bin/hello", contents: "#!/bin/sh\n" }] },
          // Listed in the amd64 index with another arch: not a package for this source.
          dbgPackage({ kernel: "6.1.0-10-arm64", version: "6.1.40-1", vmlinux, arch: "arm64" }),
        ],
        "bookworm-updates": [kernel("6.1.0-12-cloud-amd64", "6.1.55-1")],
        "bookworm-backports": [kernel("6.12.9+bpo-cloud-amd64", "6.12.9-1~bpo12+1")],
        trixie: [kernel("6.12.38+deb13-cloud-amd64", "6.12.38-1")],
        "trixie-updates": [],
      },
    });
    security = await buildAptMirror(join(dir, "debian-security"), {
      arch: "amd64",
      key,
      suites: {
        // A rebuild of an ABI the point release has, and a newer kernel.
        "bookworm-security": [
          kernel("6.1.0-11-cloud-amd64", "6.1.50-2"),
          kernel("6.1.0-13-cloud-amd64", "6.1.60-1"),
          kernel("6.1.0-13-amd64", "6.1.60-1"),
        ],
        "trixie-security": [kernel("6.12.41+deb13-cloud-amd64", "6.12.41-1")],
      },
    });
    server = await startStaticServer(dir);
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("finds every flavor's kernels across the three default suites, newest first, one package per kernel", async () => {
    const found = await new DebianSource(config()).discover();
    expect(summary(found)).toEqual([
      "amd64 6.1.0-13-amd64 6.1.60-1 bookworm-security",
      "amd64 6.1.0-11-amd64 6.1.50-1 bookworm",
      "amd64 6.1.0-10-amd64 6.1.40-1 bookworm",
      "cloud-amd64 6.1.0-13-cloud-amd64 6.1.60-1 bookworm-security",
      "cloud-amd64 6.1.0-12-cloud-amd64 6.1.55-1 bookworm-updates",
      "cloud-amd64 6.1.0-11-cloud-amd64 6.1.50-2 bookworm-security",
      "cloud-amd64 6.1.0-10-cloud-amd64 6.1.40-1 bookworm",
      "rt-amd64 6.1.0-10-rt-amd64 6.1.40-1 bookworm",
    ]);
  });

  it("describes each package with the url, sha256 and size of the file the mirror serves", async () => {
    const found = await new DebianSource(config({ flavors: ["cloud-amd64"] })).discover();
    const rebuilt = found.find((item) => item.key.kernel === "6.1.0-11-cloud-amd64")!;
    const file = built(security, "linux-image-6.1.0-11-cloud-amd64-dbg", "bookworm-security");
    expect(rebuilt).toEqual({
      key: { distro: "debian", release: "12", arch: "x86_64", kernel: "6.1.0-11-cloud-amd64" },
      flavor: "cloud-amd64",
      name: "linux-image-6.1.0-11-cloud-amd64-dbg",
      version: "6.1.50-2",
      url: `${server.url}/debian-security/${file.filename}`,
      sha256: file.sha256,
      size: file.size,
      format: "deb",
      vmlinuxPath: "usr/lib/debug/boot/vmlinux-6.1.0-11-cloud-amd64",
      origin: "bookworm-security",
    });
    const updates = found.find((item) => item.key.kernel === "6.1.0-12-cloud-amd64")!;
    const updatesFile = built(main, "linux-image-6.1.0-12-cloud-amd64-dbg", "bookworm-updates");
    expect([updates.url, updates.sha256, updates.size]).toEqual([
      `${server.url}/debian/${updatesFile.filename}`,
      updatesFile.sha256,
      updatesFile.size,
    ]);
    const served = await fetch(updates.url);
    expect(Buffer.from(await served.arrayBuffer()).length).toBe(updates.size);
  });

  it("says which packages named like kernels it left out, and why", async () => {
    const survey = await new DebianSource(config()).survey();
    expect(survey.skipped.map((item) => `${item.suite} ${item.name} ${item.version}: ${item.reason}`)).toEqual([
      "bookworm linux-image-6.1.0-10-arm64-dbg 6.1.40-1: built for arm64, not amd64",
      "bookworm linux-image-cloud-amd64-dbg 6.1.50-1: a meta package: its name carries no kernel release",
    ]);
    expect(survey.absentSuites).toEqual([]);
  });

  it("keeps the `latest` newest kernels of the configured flavors only", async () => {
    const found = await new DebianSource(config({ flavors: ["cloud-amd64", "rt-amd64"], latest: 2 })).discover();
    expect(summary(found)).toEqual([
      "cloud-amd64 6.1.0-13-cloud-amd64 6.1.60-1 bookworm-security",
      "cloud-amd64 6.1.0-12-cloud-amd64 6.1.55-1 bookworm-updates",
      "rt-amd64 6.1.0-10-rt-amd64 6.1.40-1 bookworm",
    ]);
  });

  it("reads only the configured suites, and accepts an armored keyring", async () => {
    const found = await new DebianSource(
      config({ suites: ["bookworm"], flavors: ["amd64"], keyring: key.armoredKeyring }),
    ).discover();
    expect(summary(found)).toEqual([
      "amd64 6.1.0-11-amd64 6.1.50-1 bookworm",
      "amd64 6.1.0-10-amd64 6.1.40-1 bookworm",
    ]);
  });

  it("names a configured flavor that no index carries", async () => {
    await expect(new DebianSource(config({ flavors: ["cloud-arm64"] })).discover()).rejects.toThrow(
      /no -dbg kernels of flavor cloud-arm64/,
    );
  });

  it("names the suite and the mirrors tried when no mirror has a suite", async () => {
    const error = await new DebianSource(config({ mirror: [`${server.url}/debian`] }))
      .discover()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FetchError);
    expect((error as Error).message).toContain(
      `suite bookworm-security was found on none of the mirrors tried: ${server.url}/debian (absent)`,
    );
  });

  it("reads the mirrors and the keyring from apt sources when the config names none", async () => {
    const root = await bookwormAptRoot("apt-root");
    // A third-party repository is not a Debian mirror and is never asked for Debian's suites.
    await writeFile(
      join(root, "etc/apt/sources.list.d/vendor.list"),
      `deb ${server.url}/vendor vendor-bookworm main\n`,
    );
    const before = server.requests.length;
    const found = await new DebianSource(
      config({ mirror: undefined, keyring: undefined, flavors: ["cloud-amd64"], latest: 1 }),
      { aptRoot: root },
    ).discover();
    expect(found.map((item) => item.url)).toEqual([
      `${server.url}/debian-security/${built(security, "linux-image-6.1.0-13-cloud-amd64-dbg", "bookworm-security").filename}`,
    ]);
    const asked = server.requests.slice(before).map((request) => request.path);
    expect(asked).toContain("/debian-security/dists/bookworm-security/InRelease");
    expect(asked).not.toContain("/debian/dists/bookworm-security/InRelease");
    expect(asked.some((path) => path.startsWith("/vendor/"))).toBe(false);
  });

  it("stamps the suites it reads through the apt sources as its survey does, and as a config naming the same mirrors and keyring does", async () => {
    const root = await bookwormAptRoot("apt-root-stamp");
    const fromAptSources = () => new DebianSource(config({ mirror: undefined, keyring: undefined }), { aptRoot: root });
    const stamp = await fromAptSources().stamp();
    expect((await fromAptSources().survey()).stamp).toBe(stamp);
    expect(await new DebianSource(config()).stamp()).toBe(stamp);
    expect(await new DebianSource(config({ suites: ["bookworm"] })).stamp()).not.toBe(stamp);
  });

  it("reads a release the apt sources do not list from their mirrors, each suite from the base that serves its part of the archive", async () => {
    const root = await bookwormAptRoot("apt-root-bookworm");
    const before = server.requests.length;
    const trixie = await new DebianSource(config({ release: "13", mirror: undefined, keyring: undefined }), {
      aptRoot: root,
    }).discover();
    expect(summary(trixie)).toEqual([
      "cloud-amd64 6.12.41+deb13-cloud-amd64 6.12.41-1 trixie-security",
      "cloud-amd64 6.12.38+deb13-cloud-amd64 6.12.38-1 trixie",
    ]);
    expect(trixie[0]!.url).toBe(
      `${server.url}/debian-security/${built(security, "linux-image-6.12.41+deb13-cloud-amd64-dbg", "trixie-security").filename}`,
    );
    const asked = server.requests.slice(before).map((request) => request.path);
    expect(asked).toContain("/debian/dists/trixie/InRelease");
    expect(asked).toContain("/debian/dists/trixie-updates/InRelease");
    expect(asked).toContain("/debian-security/dists/trixie-security/InRelease");
    expect(asked).not.toContain("/debian/dists/trixie-security/InRelease");
    expect(asked).not.toContain("/debian-security/dists/trixie/InRelease");

    const backports = await new DebianSource(
      config({ suites: ["bookworm-backports"], mirror: undefined, keyring: undefined }),
      { aptRoot: root },
    ).discover();
    expect(summary(backports)).toEqual(["cloud-amd64 6.12.9+bpo-cloud-amd64 6.12.9-1~bpo12+1 bookworm-backports"]);
  });

  it("rejects a suite signed by a key outside the keyring, naming the suite and the keyring", async () => {
    const root = join(dir, "foreign");
    const stranger = await createSigningKey(dir, "stranger");
    const mirror = await buildAptMirror(root, { arch: "amd64", key, suites: { "bookworm-security": [] } });
    await resignSuite(mirror, "bookworm-security", stranger);
    const error = await new DebianSource(config({ mirror: [`${server.url}/debian`, `${server.url}/foreign`] }))
      .discover()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toContain("signature of suite bookworm-security does not verify with keyring");
    expect((error as Error).message).toContain(key.keyring);
  });

  it("reads Packages.gz when the Release lists it beside .xz, and rejects one that does not match the signed Release", async () => {
    const root = join(dir, "gz-first");
    const mirror = await buildAptMirror(root, {
      arch: "amd64",
      key,
      suites: { bookworm: [dbgPackage({ kernel: "6.1.0-10-amd64", version: "6.1.40-1", vmlinux })] },
    });
    const source = () => new DebianSource(config({ mirror: [`${server.url}/gz-first`], suites: ["bookworm"] }));
    const before = server.requests.length;
    expect(summary(await source().discover())).toEqual(["amd64 6.1.0-10-amd64 6.1.40-1 bookworm"]);
    const indexes = server.requests.slice(before).filter((request) => request.path.includes("/binary-amd64/"));
    expect(indexes.map((request) => request.path)).toEqual(["/gz-first/dists/bookworm/main/binary-amd64/Packages.gz"]);
    await corruptPackagesIndex(mirror, "bookworm", "gz");
    const error = await source()
      .discover()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(
      /gz-first\/dists\/bookworm\/main\/binary-amd64\/Packages.gz .*the signed Release says/,
    );
  });

  it("rejects a Packages.xz that does not match the signed Release, for a suite that lists only .xz", async () => {
    const root = join(dir, "corrupt");
    const mirror = await buildAptMirror(root, {
      arch: "amd64",
      key,
      packagesFormats: ["xz"],
      suites: { bookworm: [dbgPackage({ kernel: "6.1.0-10-amd64", version: "6.1.40-1", vmlinux })] },
    });
    await corruptPackagesIndex(mirror, "bookworm", "xz");
    await expect(
      new DebianSource(config({ mirror: [`${server.url}/corrupt`], suites: ["bookworm"] })).discover(),
    ).rejects.toThrow(IntegrityError);
    await expect(
      new DebianSource(config({ mirror: [`${server.url}/corrupt`], suites: ["bookworm"] })).discover(),
    ).rejects.toThrow(/corrupt\/dists\/bookworm\/main\/binary-amd64\/Packages.xz .*the signed Release says/);
  });

  it("reads indexes by hash when the Release offers it, so a mirror mid-sync still matches", async () => {
    const root = join(dir, "by-hash");
    const mirror = await buildAptMirror(root, {
      arch: "amd64",
      key,
      byHash: true,
      suites: { bookworm: [dbgPackage({ kernel: "6.1.0-10-amd64", version: "6.1.40-1", vmlinux })] },
    });
    // The mirror has already replaced Packages.gz; the by-hash copy the Release names stays.
    await corruptPackagesIndex(mirror, "bookworm", "gz");
    const before = server.requests.length;
    const found = await new DebianSource(
      config({ mirror: [`${server.url}/by-hash`], suites: ["bookworm"] }),
    ).discover();
    expect(summary(found)).toEqual(["amd64 6.1.0-10-amd64 6.1.40-1 bookworm"]);
    const index = server.requests.slice(before).find((request) => request.path.includes("/binary-amd64/"));
    expect(index?.path).toMatch(/^\/by-hash\/dists\/bookworm\/main\/binary-amd64\/by-hash\/SHA256\/[0-9a-f]{64}$/);
  });

  it("uses Release and Release.gpg when InRelease is missing", async () => {
    const root = join(dir, "legacy");
    const mirror = await buildAptMirror(root, {
      arch: "amd64",
      key,
      packagesFormats: ["gz"],
      suites: { bookworm: [dbgPackage({ kernel: "6.1.0-10-amd64", version: "6.1.40-1", vmlinux })] },
    });
    await removeInRelease(mirror, "bookworm");
    const before = server.requests.length;
    const found = await new DebianSource(config({ mirror: [`${server.url}/legacy`], suites: ["bookworm"] })).discover();
    expect(summary(found)).toEqual(["amd64 6.1.0-10-amd64 6.1.40-1 bookworm"]);
    expect(server.requests.slice(before).map((request) => `${request.path} ${request.status}`)).toEqual([
      "/legacy/dists/bookworm/InRelease 404",
      "/legacy/dists/bookworm/Release 200",
      "/legacy/dists/bookworm/Release.gpg 200",
      "/legacy/dists/bookworm/main/binary-amd64/Packages.gz 200",
    ]);
  });
});

describe("DebianSource for a release that lives on Debian's archive host", () => {
  let dir: string;
  let server: StaticServer;
  let key: SigningKey;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-debian-archive-"));
    const vmlinux = await makeVmlinux(join(dir, "vmlinux"));
    key = await createSigningKey(dir, "archive");
    const kernel = (name: string, version: string) => dbgPackage({ kernel: name, version, vmlinux });
    // Archived point release and -updates: their Release files no longer carry Valid-Until.
    await buildAptMirror(join(dir, "debian"), {
      arch: "amd64",
      key,
      suites: { buster: [kernel("4.19.0-16-cloud-amd64", "4.19.181-1")], "buster-updates": [] },
    });
    // The security suite keeps the Valid-Until it had when it was last signed, long past.
    await buildAptMirror(join(dir, "debian-security"), {
      arch: "amd64",
      key,
      validUntil: new Date("2024-07-07T00:00:00Z"),
      suites: { "buster/updates": [kernel("4.19.0-27-cloud-amd64", "4.19.316-1")] },
    });
    server = await startStaticServer(dir);
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (overrides: Partial<SourceConfig> = {}): SourceConfig => ({
    distro: "debian",
    release: "10",
    arch: "x86_64",
    mirror: [`${server.url}/debian`, `${server.url}/debian-security`],
    keyring: key.keyring,
    ...overrides,
  });

  it("refuses the expired Release of the security suite, as apt does", async () => {
    await expect(new DebianSource(config()).discover()).rejects.toThrow(
      /Release of suite buster\/updates at .*debian-security expired on 2024-07-07/,
    );
  });

  it("reads buster/updates from the archive's security tree when the config turns checkValidUntil off, still checking signatures", async () => {
    const found = await new DebianSource(config({ checkValidUntil: false })).discover();
    expect(found.map((item) => `${item.key.kernel} ${item.origin} ${item.url.slice(server.url.length)}`)).toEqual([
      `4.19.0-27-cloud-amd64 buster/updates /debian-security/pool/main/l/linux/linux-image-4.19.0-27-cloud-amd64-dbg_4.19.316-1_amd64.deb`,
      `4.19.0-16-cloud-amd64 buster /debian/pool/main/l/linux/linux-image-4.19.0-16-cloud-amd64-dbg_4.19.181-1_amd64.deb`,
    ]);
    const stranger = await createSigningKey(dir, "stranger");
    await expect(
      new DebianSource(config({ checkValidUntil: false, keyring: stranger.keyring })).discover(),
    ).rejects.toThrow(IntegrityError);
  });
});
