import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyDetachedRelease, verifyInRelease } from "../../../distros/repos/apt-signature.ts";
import { findSuite, readSuite } from "../../../distros/repos/apt.ts";
import { assertReleaseCurrent, assertReleaseIsSuite, parseRelease } from "../../../distros/repos/release.ts";
import { ConfigError, FetchError, FormatError, IntegrityError } from "../../../archive/errors.ts";
import {
  buildAptMirror,
  createSigningKey,
  removeInRelease,
  suiteDir,
  tamperRelease,
} from "../../fixtures/apt-mirror.ts";
import type { AptMirror, SigningKey } from "../../fixtures/apt-mirror.ts";
import { clearsign, detachSign } from "../../fixtures/signing-key.ts";
import { startStaticServer } from "../../helpers/static-server.ts";
import type { StaticServer } from "../../helpers/static-server.ts";

// Shaped after bookworm-security's InRelease (signed part), trimmed to a few entries.
const securityRelease = `Origin: Debian
Label: Debian-Security
Suite: oldstable-security
Version: 12
Codename: bookworm-security
Date: Mon, 23 Nov 2026 11:22:37 UTC
Valid-Until: Mon, 30 Nov 2026 11:22:37 UTC
Acquire-By-Hash: yes
Architectures: amd64 arm64 armhf i386 ppc64el
Components: updates/main updates/contrib updates/non-free-firmware updates/non-free
Description: Debian 12 - Security Updates
MD5Sum:
 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 main/binary-amd64/Packages
SHA256:
 6a76270e9f19326bc8681136eba244cc44c18da5f16a5f0d427189e16f24bac1  2526003 main/binary-amd64/Packages
 36712c7d22dfc0a49c79e3e7a22e7f545a50bbf09d6111fe0ce4149addd93cad   378656 main/binary-amd64/Packages.xz
`;

describe("parseRelease", () => {
  it("reads the fields, the dates and the SHA256 list, ignoring MD5", () => {
    const release = parseRelease(securityRelease, "InRelease");
    expect(release.codename).toBe("bookworm-security");
    expect(release.suite).toBe("oldstable-security");
    expect(release.date?.toISOString()).toBe("2026-11-23T11:22:37.000Z");
    expect(release.validUntil?.toISOString()).toBe("2026-11-30T11:22:37.000Z");
    expect(release.architectures).toContain("arm64");
    expect(release.components[0]).toBe("updates/main");
    expect([...release.files.values()]).toEqual([
      {
        path: "main/binary-amd64/Packages",
        size: 2526003,
        sha256: "6a76270e9f19326bc8681136eba244cc44c18da5f16a5f0d427189e16f24bac1",
      },
      {
        path: "main/binary-amd64/Packages.xz",
        size: 378656,
        sha256: "36712c7d22dfc0a49c79e3e7a22e7f545a50bbf09d6111fe0ce4149addd93cad",
      },
    ]);
  });

  it("refuses a Release with only weak checksums, a bad date or a malformed SHA256 line", () => {
    const md5Only = securityRelease.slice(0, securityRelease.indexOf("SHA256:"));
    expect(() => parseRelease(md5Only, "Release")).toThrow(/no SHA256 section/);
    expect(() =>
      parseRelease(
        securityRelease.replace("Valid-Until: Mon, 30 Nov 2026 11:22:37 UTC", "Valid-Until: never"),
        "Release",
      ),
    ).toThrow(FormatError);
    expect(() => parseRelease(`${securityRelease} nothex 12 main/x\n`, "Release")).toThrow(
      /is not "<sha256> <size> <path>"/,
    );
  });

  it("rejects a Release past its Valid-Until and accepts one before it", () => {
    const release = parseRelease(securityRelease, "InRelease");
    expect(() =>
      assertReleaseCurrent(release, "bookworm-security", "http://m", new Date("2026-12-01T00:00:00Z")),
    ).toThrow(IntegrityError);
    expect(() =>
      assertReleaseCurrent(release, "bookworm-security", "http://m", new Date("2026-12-01T00:00:00Z")),
    ).toThrow(/suite bookworm-security at http:\/\/m expired on 2026-11-30/);
    assertReleaseCurrent(release, "bookworm-security", "http://m", new Date("2026-11-24T00:00:00Z"));
  });

  it("accepts a Release naming the suite by codename, suite, or the part before /updates, and rejects another suite", () => {
    const release = parseRelease(securityRelease, "InRelease");
    assertReleaseIsSuite(release, "bookworm-security", "x");
    assertReleaseIsSuite(release, "oldstable-security", "x");
    assertReleaseIsSuite(
      parseRelease(securityRelease.replace("Codename: bookworm-security", "Codename: buster"), "r"),
      "buster/updates",
      "x",
    );
    expect(() => assertReleaseIsSuite(release, "bookworm", "x")).toThrow(IntegrityError);
  });
});

describe("Release signatures", () => {
  let dir: string;
  let key: SigningKey;
  let stranger: SigningKey;
  let release: Buffer;
  let inRelease: Buffer;
  let detached: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-sig-"));
    key = await createSigningKey(dir, "archive");
    stranger = await createSigningKey(dir, "stranger");
    await writeFile(join(dir, "Release"), securityRelease);
    await clearsign(key, join(dir, "Release"), join(dir, "InRelease"));
    await detachSign(key, join(dir, "Release"), join(dir, "Release.gpg"));
    release = await readFile(join(dir, "Release"));
    inRelease = await readFile(join(dir, "InRelease"));
    detached = await readFile(join(dir, "Release.gpg"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const from = (keyring: string) => ({
    suite: "bookworm-security",
    keyring,
    url: "http://m/dists/bookworm-security/InRelease",
  });

  it("returns exactly the signed text of an InRelease, with a binary or an armored keyring", async () => {
    expect(await verifyInRelease(inRelease, from(key.keyring))).toBe(securityRelease);
    expect(await verifyInRelease(inRelease, from(key.armoredKeyring))).toBe(securityRelease);
  });

  it("accepts an armored key block given inline, as apt's Signed-By allows", async () => {
    expect(await verifyInRelease(inRelease, from(await readFile(key.armoredKeyring, "utf8")))).toBe(securityRelease);
  });

  it("drops unsigned text wrapped around the signed part", async () => {
    const wrapped = Buffer.concat([
      Buffer.from("Suite: injected\n\n"),
      inRelease,
      Buffer.from("\nSHA256:\n injected\n"),
    ]);
    expect(await verifyInRelease(wrapped, from(key.keyring))).toBe(securityRelease);
  });

  it("rejects an InRelease signed by a key outside the keyring, naming the suite and the keyring", async () => {
    const error = await verifyInRelease(inRelease, from(stranger.keyring)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toContain("suite bookworm-security");
    expect((error as Error).message).toContain(stranger.keyring);
    expect((error as Error).message).toContain("NO_PUBKEY");
  });

  it("rejects an InRelease whose signed text was changed (BADSIG)", async () => {
    const changed = Buffer.from(inRelease.toString().replace("Version: 12", "Version: 13"));
    await expect(verifyInRelease(changed, from(key.keyring))).rejects.toThrow(/BADSIG/);
  });

  it("verifies a detached Release.gpg and rejects it for a changed Release", async () => {
    expect(await verifyDetachedRelease(release, detached, from(key.keyring))).toBe(securityRelease);
    const changed = Buffer.from(securityRelease.replace("Version: 12", "Version: 13"));
    await expect(verifyDetachedRelease(changed, detached, from(key.keyring))).rejects.toThrow(IntegrityError);
  });

  it("rejects a file that carries no signature at all", async () => {
    await expect(verifyInRelease(release, from(key.keyring))).rejects.toThrow(IntegrityError);
  });

  it("reports a missing keyring as a config problem", async () => {
    await expect(verifyInRelease(inRelease, from(join(dir, "absent.gpg")))).rejects.toThrow(ConfigError);
  });
});

describe("reading a suite from mirrors", () => {
  let dir: string;
  let server: StaticServer;
  let mirror: AptMirror;
  let legacy: AptMirror;
  let broken: AptMirror;
  let stranger: SigningKey;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-suite-"));
    stranger = await createSigningKey(dir, "stranger");
    mirror = await buildAptMirror(join(dir, "main"), {
      arch: "amd64",
      suites: { bookworm: [], "bookworm-updates": [] },
    });
    const key = mirror.key;
    legacy = await buildAptMirror(join(dir, "legacy"), { arch: "amd64", key, suites: { bookworm: [] } });
    await removeInRelease(legacy, "bookworm");
    await buildAptMirror(join(dir, "stale"), {
      arch: "amd64",
      key,
      suites: { bookworm: [] },
      validUntil: new Date(Date.now() - 86_400_000),
    });
    broken = await buildAptMirror(join(dir, "broken"), { arch: "amd64", key, suites: { bookworm: [], unsigned: [] } });
    await tamperRelease(broken, "bookworm");
    await removeInRelease(broken, "unsigned");
    await rm(join(suiteDir(broken, "unsigned"), "Release.gpg"));
    server = await startStaticServer(dir);
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const at = (name: string, keyring = mirror.keyring, checkValidUntil = true) => ({
    base: `${server.url}/${name}`,
    keyring,
    checkValidUntil,
  });
  const unverified = (name: string) => ({ base: `${server.url}/${name}`, keyring: undefined, checkValidUntil: true });

  it("prefers InRelease", async () => {
    const suite = await readSuite(at("main"), "bookworm");
    expect(suite?.signedAs).toBe("InRelease");
    expect(suite?.release.files.has("main/binary-amd64/Packages.xz")).toBe(true);
  });

  it("falls back to Release and Release.gpg when InRelease is absent", async () => {
    const suite = await readSuite(at("legacy"), "bookworm");
    expect(suite?.signedAs).toBe("Release.gpg");
    const asked = server.requests
      .filter((request) => request.path.startsWith("/legacy/"))
      .map((request) => `${request.path} ${request.status}`);
    expect(asked).toEqual([
      "/legacy/dists/bookworm/InRelease 404",
      "/legacy/dists/bookworm/Release 200",
      "/legacy/dists/bookworm/Release.gpg 200",
    ]);
  });

  it("answers undefined for a suite the mirror does not have", async () => {
    expect(await readSuite(at("main"), "trixie")).toBeUndefined();
  });

  it("rejects a Release past its Valid-Until", async () => {
    await expect(readSuite(at("stale"), "bookworm")).rejects.toThrow(/expired/);
  });

  it("accepts a Release past its Valid-Until when the repository says not to check it, as apt's Check-Valid-Until=no", async () => {
    const suite = await readSuite(at("stale", mirror.keyring, false), "bookworm");
    expect(suite?.release.validUntil?.getTime()).toBeLessThan(Date.now());
  });

  it("reads the plain Release, unverified, from a repository without a keyring", async () => {
    const before = server.requests.length;
    const suite = await readSuite(unverified("broken"), "unsigned");
    expect(suite?.signedAs).toBe("unsigned");
    expect(suite?.release.files.has("main/binary-amd64/Packages.xz")).toBe(true);
    expect(server.requests.slice(before).map((request) => request.path)).toEqual(["/broken/dists/unsigned/Release"]);
    expect(await readSuite(unverified("broken"), "trixie")).toBeUndefined();
  });

  it("rejects a Release signed by an untrusted key, a changed one, and an unsigned one", async () => {
    await expect(readSuite(at("main", stranger.keyring), "bookworm")).rejects.toThrow(IntegrityError);
    await expect(readSuite(at("broken"), "bookworm")).rejects.toThrow(/BADSIG/);
    await expect(readSuite(at("broken"), "unsigned")).rejects.toThrow(/unsigned: neither InRelease nor Release.gpg/);
  });

  it("takes each suite from the first mirror that has it, and names the suite and every mirror tried when none has", async () => {
    const found = await findSuite([at("legacy"), at("main")], "bookworm-updates");
    expect(found.repository.base).toBe(`${server.url}/main`);
    const error = await findSuite(
      [at("legacy"), at("main"), { base: "http://127.0.0.1:1", keyring: mirror.keyring, checkValidUntil: true }],
      "trixie",
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FetchError);
    expect((error as Error).message).toMatch(/^suite trixie was found on none of the mirrors tried: /);
    expect((error as Error).message).toContain(`${server.url}/legacy (absent)`);
    expect((error as Error).message).toContain("http://127.0.0.1:1 (cannot reach");
  });

  it("answers undefined for an optional suite only when every mirror says it is absent", async () => {
    expect(await findSuite([at("legacy"), at("main")], "trixie", undefined, { optional: true })).toBeUndefined();
    const unreachable = { base: "http://127.0.0.1:1", keyring: mirror.keyring, checkValidUntil: true };
    await expect(findSuite([at("main"), unreachable], "trixie", undefined, { optional: true })).rejects.toThrow(
      FetchError,
    );
  });

  it("stops at a mirror whose signature fails instead of trying the next", async () => {
    await expect(findSuite([at("broken"), at("main")], "bookworm")).rejects.toThrow(IntegrityError);
  });
});
