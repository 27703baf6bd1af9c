// The network side of a yum repository: repomd.xml from the first mirror that has it, its
// detached signature checked with gpgv, then the primary.xml repomd vouches for, streamed. Layout,
// as createrepo_c writes it:
//   <base>/repodata/repomd.xml               which metadata files exist, with checksums and sizes
//   <base>/repodata/repomd.xml.asc           armored detached signature (openSUSE signs; Fedora,
//                                            CentOS and Amazon rely on package signatures instead)
//   <base>/repodata/<sha256>-primary.xml.zst the package list (.gz, .xz, .bz2 in older trees)
import { Readable } from "node:stream";
import { ByteReader } from "../packages/byte-reader.ts";
import { createDecoder } from "../packages/decompress.ts";
import type { Compression } from "../packages/decompress.ts";
import { decodePayload } from "../packages/payload-decoder.ts";
import { FetchError, FormatError, IntegrityError } from "../../archive/errors.ts";
import { fetchBytes, openUrl, readSized, type SizedBody } from "../net/http.ts";
import { gpgvDetached } from "./gpgv.ts";
import { CheckedDownload } from "./checked-download.ts";
import { parsePrimary } from "./primary.ts";
import type { PrimaryPackage } from "./primary.ts";
import { maxRepomdBytes, parseRepomd } from "./repomd.ts";
import { searchMirrors } from "./first-mirror.ts";
import type { RepomdRecord } from "./repomd.ts";
import type { ContentEntry, StampEntry } from "./index-stamp.ts";

/** A repository (the folder holding repodata/) and what its repomd.xml must be signed with. */
export interface YumRepository {
  /** Base URL without a trailing slash. */
  base: string;
  /** Keyring file that signs repomd.xml; undefined reads it unverified (the config's `insecure`). */
  keyring: string | undefined;
}

export interface VerifiedRepomd {
  repository: YumRepository;
  records: Map<string, RepomdRecord>;
  /** Whether a signature was checked, for provenance and tests. */
  signed: boolean;
}

const maxSignatureBytes = 1024 * 1024;
// Without an open-size, a decoded primary is cut off here: Fedora's largest is ~1 GB.
const maxPrimaryBytes = 16 * 1024 ** 3;
const readSize = 1024 * 1024;
const suffixes: ReadonlyArray<[string, Compression]> = [
  [".xml.gz", "gzip"],
  [".xml.xz", "xz"],
  [".xml.zst", "zstd"],
  [".xml.bz2", "bzip2"],
  [".xml", "none"],
];

/** A repository's signed root as the first mirror that has it serves it: the bytes alone, not yet checked. */
export interface RepomdRoot {
  repository: YumRepository;
  repomd: Buffer;
  /** repomd.xml.asc's bytes; fetched only when a keyring is to check them. */
  signature: Buffer | undefined;
}

/** When a source reads a repository: the verified repomd.xml from the first mirror that has it. */
export async function findRepository(
  repositories: readonly YumRepository[],
  what: string,
  signal?: AbortSignal,
): Promise<VerifiedRepomd> {
  return verifyRepomdRoot(await findRepositoryRoot(repositories, what, signal), signal);
}

/**
 * When a source reads a repository or checks whether it changed: repomd.xml (and its signature)
 * from the first mirror that has it, unverified. A bad signature found later still stops the
 * source: the next mirror is not asked in place of a tampered one.
 */
export async function findRepositoryRoot(
  repositories: readonly YumRepository[],
  what: string,
  signal?: AbortSignal,
): Promise<RepomdRoot> {
  const { found, tried } = await searchMirrors(
    repositories,
    (repository) => repository.base,
    (repository) => fetchRepomdRoot(repository, signal),
    signal,
  );
  if (found !== undefined) return found;
  throw new FetchError(
    `repository ${what} was found on none of the mirrors tried: ${tried.join(", ") || "(no mirror given)"}`,
    {
      hint: "check the release and arch in the config, or point `mirror` at a tree that carries it (old releases move to archive hosts)",
    },
  );
}

/** When one mirror is asked for a repository: its verified repomd.xml, or undefined if it has none. */
export async function readRepomd(repository: YumRepository, signal?: AbortSignal): Promise<VerifiedRepomd | undefined> {
  const root = await fetchRepomdRoot(repository, signal);
  return root === undefined ? undefined : verifyRepomdRoot(root, signal);
}

/** When one mirror is asked for a repository: repomd.xml and, for a verified source, its signature; undefined if it has none. */
export async function fetchRepomdRoot(
  repository: YumRepository,
  signal?: AbortSignal,
): Promise<RepomdRoot | undefined> {
  const url = `${repository.base}/repodata/repomd.xml`;
  const repomd = await fetchBytes(url, { maxBytes: maxRepomdBytes, allowMissing: true, signal });
  if (repomd === undefined) return undefined;
  if (repository.keyring === undefined) return { repository, repomd, signature: undefined };
  const signature = await fetchBytes(`${url}.asc`, { maxBytes: maxSignatureBytes, allowMissing: true, signal });
  if (signature === undefined) throw unsignedRepomd(url);
  return { repository, repomd, signature };
}

/** When a repository's root was fetched: its records, once the signature holds. */
export async function verifyRepomdRoot(root: RepomdRoot, signal?: AbortSignal): Promise<VerifiedRepomd> {
  const { repository, repomd, signature } = root;
  const url = `${repository.base}/repodata/repomd.xml`;
  if (repository.keyring !== undefined) {
    if (signature === undefined) throw unsignedRepomd(url);
    await verifyRepomd(repomd, signature, url, repository.keyring, signal);
  }
  return { repository, records: parseRepomd(repomd.toString("utf8"), url), signed: repository.keyring !== undefined };
}

/** When a source's stamp is made: a repository as its signed root names it, with the mirror.list that named it. */
export function repositoryStampEntry(name: string, root: RepomdRoot, mirrorList?: Buffer): StampEntry {
  return {
    name,
    base: root.repository.base,
    files: [
      ...(mirrorList === undefined ? [] : [{ name: "mirror.list", bytes: mirrorList }]),
      { name: "repodata/repomd.xml", bytes: root.repomd },
      ...(root.signature === undefined ? [] : [{ name: "repodata/repomd.xml.asc", bytes: root.signature }]),
    ],
    keyring: root.repository.keyring,
  };
}

/** When a source's content stamp is made: a repository as the primary its verified repomd.xml lists (the one readPrimary reads). */
export function repositoryContentEntry(name: string, verified: VerifiedRepomd): ContentEntry {
  const { href, checksum, size } = primaryRecord(verified);
  return {
    name,
    base: verified.repository.base,
    index: { path: href, digest: `${checksum.algorithm}:${checksum.value}`, size },
    keyring: verified.repository.keyring,
  };
}

// The primary metadata a verified repomd.xml lists: the one read, and the one a content stamp names.
function primaryRecord(verified: VerifiedRepomd): RepomdRecord {
  const record = verified.records.get("primary");
  if (record === undefined) {
    throw new FormatError(`${verified.repository.base}/repodata/repomd.xml lists no primary metadata`, {
      hint: "the repository is incomplete: use another mirror",
    });
  }
  return record;
}

/** When a repository was found: the packages of its primary.xml that `accept` keeps, once the whole file matched repomd. */
export async function readPrimary(
  verified: VerifiedRepomd,
  options: { accept: (name: string) => boolean; signal?: AbortSignal | undefined },
): Promise<PrimaryPackage[]> {
  const record = primaryRecord(verified);
  const url = repositoryUrl(verified.repository, record.href);
  const compression = suffixes.find(([suffix]) => record.href.endsWith(suffix))?.[1];
  if (compression === undefined) {
    throw new FormatError(
      `${url}: unsupported primary compression (btfmill reads ${suffixes.map(([suffix]) => suffix).join(", ")})`,
      {
        hint: "the repository publishes its metadata in a form btfmill cannot read",
      },
    );
  }
  const consume = async ({ length, chunks }: SizedBody): Promise<PrimaryPackage[]> => {
    if (record.size !== undefined && length !== undefined && length !== record.size) {
      throw new IntegrityError(`${url} is announced as ${length} bytes, the signed repomd.xml says ${record.size}`, {
        package: url,
        hint: "the mirror is mid-sync or corrupt: retry later or use another mirror",
      });
    }
    const download = new CheckedDownload(chunks, url, record.checksum, record.size, "repomd.xml");
    const reader = new ByteReader(download.chunks);
    return download.read(async () => {
      const decoder = createDecoder(compression, url, { package: url });
      const compressed = Readable.from(reader.rest(readSize), { objectMode: false });
      const parsed = await decodePayload(compressed, decoder, options.signal, (decoded) =>
        parsePrimary(decoded, url, { accept: options.accept, maxBytes: record.openSize ?? maxPrimaryBytes }),
      );
      return parsed.result;
    });
  };
  // With the size repomd.xml gives, a break is resumed; without it, the body is read once.
  if (record.size !== undefined) return readSized(url, record.size, { signal: options.signal }, consume);
  const opened = await openUrl(url, { signal: options.signal });
  try {
    return await consume({ length: opened.length, chunks: opened.body as AsyncIterable<Buffer> });
  } finally {
    opened.body.destroy();
  }
}

/** When a package or metadata file is located: its URL from the repository's base and an href (absolute when xml:base gave one). */
export function repositoryUrl(repository: YumRepository, href: string): string {
  return /^https?:\/\//.test(href) ? href : `${repository.base}/${href}`;
}

function unsignedRepomd(url: string): IntegrityError {
  return new IntegrityError(`${url} is unsigned: ${url}.asc does not exist`, {
    package: url,
    hint: "this repository does not sign its metadata: set `insecure: true` for the source to read it unverified (recorded in the manifest)",
  });
}

async function verifyRepomd(
  repomd: Buffer,
  signature: Buffer,
  url: string,
  keyring: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const verdict = await gpgvDetached(repomd, signature, keyring, signal);
  if (!verdict.valid) {
    const reason = verdict.problems.length > 0 ? verdict.problems.join("; ") : "no good signature";
    throw new IntegrityError(`signature of ${url} does not verify with keyring ${keyring}: ${reason}`, {
      package: url,
      hint: "if the mirror is right, the keyring is wrong or outdated: set `keyring` in the config to the distro's repository key",
    });
  }
}
