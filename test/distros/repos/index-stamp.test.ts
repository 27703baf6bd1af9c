// The stamp's own rules, below the sources: what a keyring contributes and when the digest of one is read again.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../archive/errors.ts";
import {
  contentStamp,
  indexStamp,
  keyringDigest,
  type ContentEntry,
  type StampEntry,
} from "../../../distros/repos/index-stamp.ts";

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-index-stamp-"));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const block =
  "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZlc0ZRYJKwYBBAHaRw8BAQdAexample\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n";

describe("keyringDigest", () => {
  it("digests an embedded key block's text, and a keyring file's bytes again once the file is rewritten", async () => {
    expect(await keyringDigest(block)).toBe(await keyringDigest(block));
    expect(await keyringDigest(block)).not.toBe(await keyringDigest(block.replace("abcd", "abce")));
    const path = join(work, "archive.gpg");
    await writeFile(path, "first key");
    const first = await keyringDigest(path);
    expect(await keyringDigest(path)).toBe(first);
    await writeFile(path, "second key, longer");
    expect(await keyringDigest(path)).not.toBe(first);
  });

  it("refuses a keyring file that cannot be read, as the signature check would", async () => {
    await expect(keyringDigest(join(work, "missing.gpg"))).rejects.toThrow(ConfigError);
  });
});

describe("indexStamp", () => {
  const entry = (over: Partial<Extract<StampEntry, { base: string }>> = {}): StampEntry => ({
    name: "bookworm",
    base: "http://127.0.0.1:1/debian",
    files: [{ name: "InRelease", bytes: Buffer.from("signed") }],
    keyring: block,
    ...over,
  });

  it("tells apart another mirror, other bytes, another keyring, an absent suite and another order", async () => {
    const absent: StampEntry = { name: "bookworm-updates", absent: true };
    const stamp = await indexStamp([entry(), absent]);
    expect(await indexStamp([entry(), absent])).toBe(stamp);
    const others = await Promise.all([
      indexStamp([entry({ base: "http://127.0.0.1:2/debian" }), absent]),
      indexStamp([entry({ files: [{ name: "InRelease", bytes: Buffer.from("signed again") }] }), absent]),
      indexStamp([entry({ files: [{ name: "Release", bytes: Buffer.from("signed") }] }), absent]),
      indexStamp([entry({ keyring: undefined }), absent]),
      indexStamp([entry()]),
      indexStamp([absent, entry()]),
    ]);
    expect(new Set([stamp, ...others]).size).toBe(others.length + 1);
  });
});

describe("contentStamp", () => {
  const index = { path: "main/binary-amd64/Packages.gz", digest: `sha256:${"a".repeat(64)}`, size: 1234 };
  const entry = (over: Partial<Extract<ContentEntry, { base: string }>> = {}): ContentEntry => ({
    name: "bookworm",
    base: "http://127.0.0.1:1/debian",
    index,
    keyring: block,
    ...over,
  });

  it("tells apart another mirror, index path, digest or size, another keyring, an absent suite and another order", async () => {
    const absent: ContentEntry = { name: "bookworm-updates", absent: true };
    const stamp = await contentStamp([entry(), absent]);
    expect(await contentStamp([entry(), absent])).toBe(stamp);
    const others = await Promise.all([
      contentStamp([entry({ base: "http://127.0.0.1:2/debian" }), absent]),
      contentStamp([entry({ index: { ...index, path: "main/binary-amd64/Packages.xz" } }), absent]),
      contentStamp([entry({ index: { ...index, digest: `sha256:${"b".repeat(64)}` } }), absent]),
      contentStamp([entry({ index: { ...index, size: 1235 } }), absent]),
      contentStamp([entry({ index: { ...index, size: undefined } }), absent]),
      contentStamp([entry({ keyring: undefined }), absent]),
      contentStamp([entry()]),
      contentStamp([absent, entry()]),
    ]);
    expect(new Set([stamp, ...others]).size).toBe(others.length + 1);
  });
});
