// A source's index stamp: one digest of the signed roots that vouch for its indexes (a suite's
// InRelease or Release + Release.gpg, a repository's repomd.xml + repomd.xml.asc and the
// mirror.list that named it) and of the keyrings they are checked with. Equal stamps mean the
// same signed bytes from the same mirrors under the same keys, so a run can skip reading the
// indexes again; a re-signed Release, a new keyring or a suite that appeared or went away each
// change it. Both the survey (over the bytes it verified) and the cheap check (over the bytes
// alone) go through indexStamp, so the two agree on an unchanged mirror.
//
// The content stamp is the second level: the index files the verified roots list (path, digest,
// size), not the roots' bytes. A mirror that re-signs a suite to refresh its Valid-Until changes
// the index stamp but not the content stamp, so a run that verified the new root can still skip
// reading indexes whose contents it already read.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { ConfigError } from "../../archive/errors.ts";

/** One signed file as fetched, by its path under the suite's or repository's base. */
export interface RootFile {
  name: string;
  bytes: Buffer;
}

/** One suite or repository of a source, in config order: where its signed root was found, or absent. */
export type StampEntry =
  | { name: string; absent: true }
  | {
      name: string;
      base: string;
      files: readonly RootFile[];
      /** Keyring file or embedded armored key block; undefined for an insecure source. */
      keyring: string | undefined;
    };

/** The index file a suite's or repository's packages are read from, as its verified root lists it. */
export interface ListedIndex {
  /** Path under the suite's directory (apt) or href under the repository (yum). */
  path: string;
  /** `<algorithm>:<lowercase hex>` as the root lists it (`sha256:7ad4...`). */
  digest: string;
  /** Size in bytes as listed; undefined when the root lists none (repomd.xml may omit it). */
  size: number | undefined;
}

/** One suite or repository of a source, in config order: the index its packages come from, or absent. */
export type ContentEntry =
  | { name: string; absent: true }
  | {
      name: string;
      base: string;
      index: ListedIndex;
      /** Keyring file or embedded armored key block; undefined for an insecure source. */
      keyring: string | undefined;
    };

const ARMOR = "-----BEGIN PGP";

// Many sources share a keyring file: its digest is read once per process, again only when the
// file itself changed (another inode, size or modification time).
const keyringDigests = new Map<string, { identity: string; digest: string }>();

/** When a survey or a stamp check ends: the sha256 hex of the entries, in the order given. */
export function indexStamp(entries: readonly StampEntry[]): Promise<string> {
  return digestEntries(entries, (entry) => entry.files.map((file) => [file.name, sha256Hex(file.bytes)]));
}

/** When a survey or a verification ends: the sha256 hex of the listed indexes, in the order given. */
export function contentStamp(entries: readonly ContentEntry[]): Promise<string> {
  return digestEntries(entries, ({ index }) => [index.path, index.digest, index.size ?? null]);
}

// Both stamps name each suite or repository, where it was found, what vouches for it and the key
// it is checked with; they differ only in what vouches: the signed files, or the indexes they list.
async function digestEntries<Found extends { name: string; base: string; keyring: string | undefined }>(
  entries: readonly (Found | { name: string; absent: true })[],
  vouching: (entry: Found) => unknown,
): Promise<string> {
  const serialized = await Promise.all(
    entries.map(async (entry) =>
      "absent" in entry
        ? [entry.name, "absent"]
        : [entry.name, entry.base, vouching(entry), await keyOf(entry.keyring)],
    ),
  );
  return sha256Hex(Buffer.from(JSON.stringify(serialized)));
}

/** When a stamp names the key a root is checked with: the digest of the keyring file's bytes, or of an embedded key block's text. */
export async function keyringDigest(keyring: string): Promise<string> {
  if (keyring.startsWith(ARMOR)) return sha256Hex(Buffer.from(keyring));
  try {
    const info = await stat(keyring);
    const identity = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
    const cached = keyringDigests.get(keyring);
    if (cached?.identity === identity) return cached.digest;
    const digest = sha256Hex(await readFile(keyring));
    keyringDigests.set(keyring, { identity, digest });
    return digest;
  } catch (cause) {
    throw new ConfigError(`keyring ${keyring} cannot be read: ${(cause as Error).message}`, {
      cause,
      hint: "install the distro's archive keyring package, or set `keyring` in the config to a .gpg or .asc file",
    });
  }
}

// The key a root is checked with, or "unverified" for an insecure source.
async function keyOf(keyring: string | undefined): Promise<string> {
  return keyring === undefined ? "unverified" : keyringDigest(keyring);
}

function sha256Hex(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
