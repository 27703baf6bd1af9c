// The common interface between distro sources and the pipeline.
import type { Arch, KernelKey } from "../archive/kernel-key.ts";

export type PackageFormat = "deb" | "rpm";

/** Kernel modules to convert as well: names as lsmod prints them (`nf_conntrack`), or every module. */
export type ModuleSelection = readonly string[] | "all";

/** One debug kernel package that a repository index says exists, with what vouches for it. */
export interface KernelPackage {
  key: KernelKey;
  /** Flavor within the distro (`cloud-amd64`, `generic`, `default`), for per-flavor ordering. */
  flavor: string;
  /** Package name as the index spells it (`linux-image-6.1.0-47-cloud-amd64-dbg`). */
  name: string;
  /** Package version as the distro orders it (`6.1.170-3`). */
  version: string;
  url: string;
  /** Lowercase hex SHA256 from the signed index. */
  sha256: string;
  size: number;
  format: PackageFormat;
  /** Path of the vmlinux inside the package's payload, normalised without a leading `./` or `/`. */
  vmlinuxPath: string;
  /** Which index it came from (`bookworm-security`), for provenance. */
  origin: string;
  /** Modules whose split BTF is made too (the source's `modules`); none when absent. */
  modules?: ModuleSelection | undefined;
}

/** One entry of the config's `sources`, as validated by pipeline/config.ts. */
export interface SourceConfig {
  distro: string;
  /** os-release VERSION_ID (`12`, `20.04`). */
  release: string;
  arch: Arch;
  /** Only these flavors (`cloud-amd64`); all when absent. */
  flavors?: string[] | undefined;
  /** Repository base URL(s); each suite is read from the first that has it. Default: the distro's own. */
  mirror?: string[] | undefined;
  /** Suites to read instead of the release's defaults; each must exist on a mirror. */
  suites?: string[] | undefined;
  /** Ubuntu: read `<codename>-proposed` among the default suites (default true). */
  proposed?: boolean | undefined;
  /** Keyring (binary .gpg or armored .asc) that signs the indexes. */
  keyring?: string | undefined;
  /** How many newest kernels per flavor to process; all when absent. */
  latest?: number | undefined;
  /** Read the indexes without verifying their signatures: only when no keyring exists; recorded in the manifest. */
  insecure?: boolean | undefined;
  /**
   * Kernels that ship their own BTF: `first` (default) converts, per flavor in version order,
   * up to the first kernel whose vmlinux has `.BTF` and skips the newer ones (they have BTF too);
   * `all` converts every kernel.
   */
  kernelsWithBtf?: "first" | "all" | "own" | undefined;
  /**
   * apt's Check-Valid-Until (default true): false accepts Release files past their Valid-Until,
   * as the archived releases' are; their signatures are still checked.
   */
  checkValidUntil?: boolean | undefined;
  /** Modules to convert to split BTF beside each kernel: lsmod names, or "all"; none when absent. */
  modules?: ModuleSelection | undefined;
}

/** What reading one source's indexes found. */
export interface SourceSurvey {
  /** The packages, newest first per flavor. */
  packages: KernelPackage[];
  /**
   * Default suites that every configured mirror answered as absent (404), read as empty: the run
   * names them so that a mirror lacking one is seen, not silently taken as having no kernels there.
   */
  absentSuites: string[];
  /** Digest of the signed roots this survey read (see DistroSource.stamp): equal strings mean the same signed indexes. */
  stamp: string;
  /** The earliest Valid-Until among the Release files read, when the source checks Valid-Until (ISO string); absent otherwise. */
  validUntil?: string;
  /**
   * Digest of what the survey's packages were read from, as the verified roots list it: per suite
   * or repository in config order, its name, the mirror base, the index file read (path, digest,
   * size as the verified Release / repomd.xml lists it), and the keyring digest; "absent" for a
   * suite every mirror answers 404. Equal strings mean the same index contents.
   */
  contentStamp: string;
}

/** What `verify` found: the raw stamp, the content stamp and the earliest Valid-Until, without reading an index. */
export interface VerifiedStamps {
  stamp: string;
  contentStamp: string;
  validUntil?: string;
}

/** A distro's way to find its debug kernel packages. */
export interface DistroSource {
  readonly config: SourceConfig;
  /** The indexes are read without signature checks (config `insecure`): the manifest records it. */
  readonly insecure?: boolean;
  /** When a test or a benchmark wants the packages alone: `survey`'s packages. */
  discover(signal?: AbortSignal): Promise<KernelPackage[]>;
  /** When a run plans: reads the signed indexes; the packages, and the default suites no mirror has. */
  survey(signal?: AbortSignal): Promise<SourceSurvey>;
  /**
   * When a run asks whether a source changed since it was last read: the digest of the signed roots
   * (apt: each suite's InRelease, or Release + Release.gpg, or "absent"; yum: each repo's repomd.xml
   * + repomd.xml.asc, and for a mirror list the list's bytes too), as the first mirror that has each
   * serves them, plus the keyring bytes they are checked with. Fetches only those small files: no
   * signature check, no Packages/primary download. Equal to `survey(...).stamp` when the mirror has not changed.
   */
  stamp(signal?: AbortSignal): Promise<string>;
  /**
   * When a source's raw stamp changed: fetches and verifies its signed roots as survey does
   * (signature, suite name, Valid-Until: failing the same way survey would), and returns `stamp`
   * (equal to stamp() over the same bytes), `contentStamp` (equal to survey().contentStamp when
   * the verified roots list the same index files) and `validUntil` (as survey gives it). Downloads
   * no Packages/primary.
   */
  verify(signal?: AbortSignal): Promise<VerifiedStamps>;
}
