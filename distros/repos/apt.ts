// The network side of an apt repository: a suite's signed Release from the first mirror that has
// it, then the Packages index that Release vouches for. Layout (DebianRepository/Format):
//   <base>/dists/<suite>/InRelease            clearsigned Release (preferred)
//   <base>/dists/<suite>/Release{,.gpg}       Release and detached signature (older mirrors)
//   <base>/dists/<suite>/Release              alone, read unverified for an `insecure` source
//   <base>/dists/<suite>/main/binary-<arch>/Packages.xz
import { FetchError, IntegrityError } from "../../archive/errors.ts";
import { fetchBytes, readSized, type SizedBody } from "../net/http.ts";
import { verifyDetachedRelease, verifyInRelease } from "./apt-signature.ts";
import { pickPackagesIndex, readPackagesIndex } from "./packages-index.ts";
import type { PackageRecord, PackagesIndexChoice } from "./packages-index.ts";
import { assertReleaseCurrent, assertReleaseIsSuite, parseRelease } from "./release.ts";
import { searchMirrors } from "./first-mirror.ts";
import type { AptRelease } from "./release.ts";
import type { ContentEntry, RootFile, StampEntry } from "./index-stamp.ts";

/** A mirror base URL and what its Release files must satisfy. */
export interface AptRepository {
  /** Base URL without a trailing slash (`.../debian`). */
  base: string;
  /**
   * Keyring file, or an armored key block embedded in an apt source's Signed-By. Undefined only
   * for a source configured `insecure`: the plain Release is read unverified (its SHA256 list
   * still vouches for every index).
   */
  keyring: string | undefined;
  /** apt's Check-Valid-Until: false accepts a Release past its Valid-Until (archived releases). */
  checkValidUntil: boolean;
}

/** A suite's signed root as the first mirror that has it serves it: the bytes alone, not yet checked. */
export interface SuiteRoot {
  repository: AptRepository;
  suite: string;
  /** Which signed form the mirror has (`unsigned` for an insecure source). */
  signedAs: "InRelease" | "Release.gpg" | "unsigned";
  /** InRelease's bytes, or Release's. */
  release: Buffer;
  /** Release.gpg's bytes, with a detached signature. */
  signature?: Buffer;
}

export interface VerifiedSuite {
  repository: AptRepository;
  suite: string;
  release: AptRelease;
  /** Which signed form was used (`unsigned` for an insecure source), for provenance and tests. */
  signedAs: SuiteRoot["signedAs"];
}

// Bookworm's InRelease is 150 KB; a signature a few KB.
const MAX_RELEASE_BYTES = 32 * 1024 * 1024;
const MAX_SIGNATURE_BYTES = 1024 * 1024;
// The Release bounds each index by its own listed size; this refuses absurd listings.
const MAX_INDEX_BYTES = 512 * 1024 * 1024;

/**
 * When a source reads a suite: the verified Release from the first repository that has the suite.
 * An `optional` suite that every repository answers as absent gives undefined instead of an error.
 */
export async function findSuite(
  repositories: readonly AptRepository[],
  suite: string,
  signal?: AbortSignal,
): Promise<VerifiedSuite>;
export async function findSuite(
  repositories: readonly AptRepository[],
  suite: string,
  signal: AbortSignal | undefined,
  options: { optional: boolean },
): Promise<VerifiedSuite | undefined>;
export async function findSuite(
  repositories: readonly AptRepository[],
  suite: string,
  signal?: AbortSignal,
  options: { optional: boolean } = { optional: false },
): Promise<VerifiedSuite | undefined> {
  const root = await findSuiteRoot(repositories, suite, signal, options);
  return root === undefined ? undefined : verifySuiteRoot(root, signal);
}

/**
 * When a source reads a suite or checks whether it changed: the signed root from the first
 * repository that has the suite, unverified. A bad signature found later still stops the source:
 * the next mirror is not asked in place of a tampered one. An `optional` suite that every
 * repository answers as absent gives undefined.
 */
export async function findSuiteRoot(
  repositories: readonly AptRepository[],
  suite: string,
  signal: AbortSignal | undefined,
  options: { optional: boolean },
): Promise<SuiteRoot | undefined> {
  const { found, tried, unreachable } = await searchMirrors(
    repositories,
    (repository) => repository.base,
    (repository) => fetchSuiteRoot(repository, suite, signal),
    signal,
  );
  if (found !== undefined) return found;
  // Only a suite that every mirror answered as absent may be left out: an unreachable one may have it.
  if (options.optional && !unreachable && repositories.length > 0) return undefined;
  throw new FetchError(
    `suite ${suite} was found on none of the mirrors tried: ${tried.join(", ") || "(no mirror given)"}`,
    {
      hint: "check the release and suites in the config, or add a mirror that carries the suite (releases past their support move to an archive mirror)",
    },
  );
}

/** When one repository is asked for a suite: its verified Release, or undefined if the suite is absent. */
export async function readSuite(
  repository: AptRepository,
  suite: string,
  signal?: AbortSignal,
): Promise<VerifiedSuite | undefined> {
  const root = await fetchSuiteRoot(repository, suite, signal);
  return root === undefined ? undefined : verifySuiteRoot(root, signal);
}

/** When a suite's signed root was fetched: its Release, once the signature, the suite name and Valid-Until hold. */
export async function verifySuiteRoot(root: SuiteRoot, signal?: AbortSignal): Promise<VerifiedSuite> {
  const { repository, suite, signedAs } = root;
  const where = `${repository.base}/dists/${suite}/${signedAs === "InRelease" ? "InRelease" : "Release"}`;
  const text = await releaseText(root, where, signal);
  const release = parseRelease(text, where);
  assertReleaseIsSuite(release, suite, where);
  if (repository.checkValidUntil) assertReleaseCurrent(release, suite, repository.base);
  return { repository, suite, release, signedAs };
}

/** When a source's stamp is made: a suite as its signed root names it, or as absent. */
export function suiteStampEntry(suite: string, root: SuiteRoot | undefined): StampEntry {
  return root === undefined
    ? { name: suite, absent: true }
    : { name: suite, base: root.repository.base, files: rootFiles(root), keyring: root.repository.keyring };
}

/**
 * When a source's content stamp is made: a suite as the Packages index its verified Release lists
 * for `component`/`arch` (the one readPackages reads), or as absent.
 */
export function suiteContentEntry(
  suite: string,
  verified: VerifiedSuite | undefined,
  component: string,
  arch: string,
): ContentEntry {
  if (verified === undefined) return { name: suite, absent: true };
  const { path, entry } = suitePackagesIndex(verified, component, arch);
  return {
    name: suite,
    base: verified.repository.base,
    index: { path, digest: `sha256:${entry.sha256}`, size: entry.size },
    keyring: verified.repository.keyring,
  };
}

// The Packages file of `component`/`arch` that a verified Release lists: the one read, and the one a content stamp names.
function suitePackagesIndex(verified: VerifiedSuite, component: string, arch: string): PackagesIndexChoice {
  return pickPackagesIndex(
    verified.release,
    component,
    arch,
    `Release of ${verified.suite} at ${verified.repository.base}`,
  );
}

// The files a root was read from, by name: which of them exist tells the forms apart.
function rootFiles({ signedAs, release, signature }: SuiteRoot): RootFile[] {
  if (signedAs === "InRelease") return [{ name: "InRelease", bytes: release }];
  return [{ name: "Release", bytes: release }, ...(signature ? [{ name: "Release.gpg", bytes: signature }] : [])];
}

// Only bytes gpgv vouched for are parsed: for InRelease its output, never the text around the signed part.
async function releaseText(root: SuiteRoot, where: string, signal: AbortSignal | undefined): Promise<string> {
  const { repository, suite, release, signature } = root;
  if (repository.keyring === undefined) return release.toString("utf8");
  const from = { suite, keyring: repository.keyring, url: where };
  return signature === undefined
    ? verifyInRelease(release, from, signal)
    : verifyDetachedRelease(release, signature, from, signal);
}

/** When one repository is asked for a suite: the signed root's bytes, or undefined if the suite is absent. */
export async function fetchSuiteRoot(
  repository: AptRepository,
  suite: string,
  signal?: AbortSignal,
): Promise<SuiteRoot | undefined> {
  const dir = `${repository.base}/dists/${suite}`;
  const fetchRelease = () => fetchBytes(`${dir}/Release`, { maxBytes: MAX_RELEASE_BYTES, allowMissing: true, signal });
  // An insecure source takes the plain Release: every mirror publishes it beside InRelease, and it
  // needs no OpenPGP parsing to strip a signature nobody checks.
  if (repository.keyring === undefined) {
    const release = await fetchRelease();
    return release === undefined ? undefined : { repository, suite, signedAs: "unsigned", release };
  }
  const inRelease = await fetchBytes(`${dir}/InRelease`, { maxBytes: MAX_RELEASE_BYTES, allowMissing: true, signal });
  if (inRelease !== undefined) return { repository, suite, signedAs: "InRelease", release: inRelease };
  const release = await fetchRelease();
  if (release === undefined) return undefined;
  const signature = await fetchBytes(`${dir}/Release.gpg`, {
    maxBytes: MAX_SIGNATURE_BYTES,
    allowMissing: true,
    signal,
  });
  if (signature === undefined) {
    throw new IntegrityError(
      `suite ${suite} at ${repository.base} is unsigned: neither InRelease nor Release.gpg exists`,
      {
        package: `${dir}/Release`,
        hint: "btfmill reads only signed repositories: use a mirror that publishes the signatures, or set `insecure` on a source without a keyring",
      },
    );
  }
  return { repository, suite, signedAs: "Release.gpg", release, signature };
}

/** When a source lists a suite's packages: the Packages index for `component`/`arch`, verified and parsed. */
export async function readPackages(
  verified: VerifiedSuite,
  component: string,
  arch: string,
  options: { accept?: (name: string) => boolean; signal?: AbortSignal | undefined } = {},
): Promise<PackageRecord[]> {
  const dir = `${verified.repository.base}/dists/${verified.suite}`;
  const choice = suitePackagesIndex(verified, component, arch);
  const url = `${dir}/${choice.path}`;
  if (choice.entry.size > MAX_INDEX_BYTES) {
    throw new FetchError(`${url} is listed at ${choice.entry.size} bytes, over the limit of ${MAX_INDEX_BYTES}`, {
      package: url,
      hint: "the Release lists an implausibly large index: check the mirror",
    });
  }
  // By-hash names the exact bytes the Release lists, so a mirror that syncs between our Release
  // and our index download still serves a matching file (DebianRepository/Format#indices_acquisition_via_hashsums_.28by-hash.29).
  if (verified.release.fields.get("acquire-by-hash")?.toLowerCase() === "yes") {
    const byHash = `${dir}/${choice.path.slice(0, choice.path.lastIndexOf("/"))}/by-hash/SHA256/${choice.entry.sha256}`;
    const records = await readSized(
      byHash,
      choice.entry.size,
      { signal: options.signal, allowMissing: true },
      readListed(choice, byHash, options),
    );
    if (records !== undefined) return records;
  }
  return readSized(url, choice.entry.size, { signal: options.signal }, readListed(choice, url, options));
}

// The signed size is the exact bound: a body that announces another size is refused before it is
// read, one that grows past it as it downloads (a mirror mid-sync serves a newer index than its Release).
function readListed(
  choice: PackagesIndexChoice,
  url: string,
  options: { accept?: (name: string) => boolean; signal?: AbortSignal | undefined },
): (body: SizedBody) => Promise<PackageRecord[]> {
  return async ({ length, chunks }) => {
    if (length !== undefined && length !== choice.entry.size) {
      throw new IntegrityError(
        `${url} announces ${length} bytes, but the signed Release says ${choice.entry.size} bytes`,
        {
          package: url,
          hint: "the mirror is mid-sync or corrupt: retry later or use another mirror",
        },
      );
    }
    return readPackagesIndex(chunks, choice, url, options);
  };
}
