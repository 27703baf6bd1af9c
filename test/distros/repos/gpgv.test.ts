// Signatures judged from gpgv's status lines against one keyring: keys made by gpg for the test,
// and, where this machine's apt has one, Debian's own bookworm InRelease with the archive keyrings.
import { readdir, readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../archive/errors.ts";
import { gpgvClearsigned, gpgvDetached } from "../../../distros/repos/gpgv.ts";
import { clearsign, createSigningKey, detachSign, type SigningKey } from "../../fixtures/signing-key.ts";
import { rejection } from "../../helpers/rejection.ts";

const release = "Origin: btfmill test\nSuite: bookworm\nSHA256:\n 0000 1 main/binary-amd64/Packages\n";
let work: string;
let key: SigningKey;
let other: SigningKey;
let inRelease: Buffer;
let releaseGpg: Buffer;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-gpgv-"));
  key = await createSigningKey(work, "archive");
  other = await createSigningKey(work, "stranger");
  await writeFile(join(work, "Release"), release);
  await clearsign(key, join(work, "Release"), join(work, "InRelease"));
  await detachSign(key, join(work, "Release"), join(work, "Release.gpg"));
  inRelease = await readFile(join(work, "InRelease"));
  releaseGpg = await readFile(join(work, "Release.gpg"));
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("gpgvClearsigned", () => {
  it("accepts an InRelease signed by the keyring's key, naming it, and returns the signed text alone", async () => {
    const verdict = await gpgvClearsigned(inRelease, key.keyring);
    expect(verdict.valid).toBe(true);
    expect(verdict.signers).toEqual([key.fingerprint]);
    expect(verdict.problems).toEqual([]);
    expect(verdict.output.toString()).toBe(release);
  });

  it("checks against a binary keyring with no temp folder: the InRelease goes to gpgv on stdin", async () => {
    const saved = process.env.TMPDIR;
    // A temp folder that cannot be made: any mkdtemp would fail the check.
    process.env.TMPDIR = join(work, "absent", "tmp");
    try {
      const verdict = await gpgvClearsigned(inRelease, key.keyring);
      expect(verdict.valid).toBe(true);
      expect(verdict.output.toString()).toBe(release);
      expect((await gpgvClearsigned(inRelease, other.keyring)).valid).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it("takes the keyring armored, as a file or as the key block itself (apt's inline Signed-By)", async () => {
    expect((await gpgvClearsigned(inRelease, key.armoredKeyring)).valid).toBe(true);
    const block = await readFile(key.armoredKeyring, "utf8");
    expect((await gpgvClearsigned(inRelease, block)).signers).toEqual([key.fingerprint]);
  });

  it("refuses a signature by a key the keyring lacks, with gpgv's NO_PUBKEY line", async () => {
    const verdict = await gpgvClearsigned(inRelease, other.keyring);
    expect(verdict.valid).toBe(false);
    expect(verdict.signers).toEqual([]);
    expect(verdict.problems.some((line) => line.startsWith("NO_PUBKEY") || line.startsWith("ERRSIG"))).toBe(true);
  });

  it("refuses a signed text changed after signing, with gpgv's BADSIG line", async () => {
    const tampered = Buffer.from(inRelease.toString().replace("Suite: bookworm", "Suite: bookwarm"));
    const verdict = await gpgvClearsigned(tampered, key.keyring);
    expect(verdict.valid).toBe(false);
    expect(verdict.problems.some((line) => line.startsWith("BADSIG"))).toBe(true);
  });

  it("refuses a file with no signature at all", async () => {
    const verdict = await gpgvClearsigned(Buffer.from(release), key.keyring);
    expect(verdict.valid).toBe(false);
    expect(verdict.problems.some((line) => line.startsWith("NODATA"))).toBe(true);
  });

  it("says a keyring that cannot be read is a configuration problem, naming it", async () => {
    const error = await rejection(gpgvClearsigned(inRelease, join(work, "absent.gpg")));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^keyring .*absent\.gpg cannot be read: /);
  });

  it("accepts Debian's bookworm InRelease on one good signature though the keyring lacks the other signers' keys (gpgv exits 2)", async (context) => {
    const lists = "/var/lib/apt/lists";
    const name = (await readdir(lists).catch(() => [] as string[])).find((file) =>
      file.endsWith("_dists_bookworm_InRelease"),
    );
    const keyring = "/usr/share/keyrings/debian-archive-bookworm-stable.gpg";
    context.skip(name === undefined, "this machine's apt has no bookworm InRelease");
    const document = await readFile(join(lists, name!));
    const gpgvAlone = await execa("gpgv", ["--keyring", keyring, join(lists, name!)], { reject: false });
    const verdict = await gpgvClearsigned(document, keyring);
    expect(verdict.valid).toBe(true);
    expect(verdict.signers).toHaveLength(1);
    expect(verdict.output.toString()).toMatch(/^Origin: Debian\n/m);
    // Signed by the archive's automatic keys too, which this keyring lacks: gpgv's exit code alone would refuse it.
    expect(verdict.problems.some((line) => line.startsWith("NO_PUBKEY"))).toBe(true);
    expect(gpgvAlone.exitCode).toBe(2);
    const all = await gpgvClearsigned(document, "/usr/share/keyrings/debian-archive-keyring.gpg");
    expect(all.valid).toBe(true);
    expect(all.signers.length).toBeGreaterThanOrEqual(verdict.signers.length);
  });
});

describe("gpgvDetached", () => {
  it("accepts a Release with its Release.gpg, and refuses the same signature over other bytes", async () => {
    const verdict = await gpgvDetached(Buffer.from(release), releaseGpg, key.keyring);
    expect(verdict).toEqual({ valid: true, signers: [key.fingerprint], problems: [], output: Buffer.alloc(0) });
    const changed = await gpgvDetached(Buffer.from(`${release}X`), releaseGpg, key.keyring);
    expect(changed.valid).toBe(false);
    expect(changed.problems.some((line) => line.startsWith("BADSIG"))).toBe(true);
  });
});
