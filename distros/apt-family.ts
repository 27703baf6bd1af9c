// What the apt-based distros share: debug kernels are packages in `main` of a release's suites,
// each suite read from the first mirror that has it, one package kept per kernel release, grouped
// by flavor and ordered newest first by dpkg's version order. A distro (debian.ts, ubuntu.ts)
// says which suites a release has, which package names are kernels, and where its mirrors are;
// it overrides the screening or the choice between two packages of one kernel only when its
// archive needs that, and says why.
import { ConfigError } from "../archive/errors.ts";
import { findSuiteRoot, readPackages, suiteContentEntry, suiteStampEntry, verifySuiteRoot } from "./repos/apt.ts";
import type { AptRepository, SuiteRoot, VerifiedSuite } from "./repos/apt.ts";
import { contentStamp, indexStamp } from "./repos/index-stamp.ts";
import { compareDebianVersions } from "./repos/deb-version.ts";
import { selectKernels } from "./kernel-selection.ts";
import type { PackageRecord } from "./repos/packages-index.ts";
import type { DistroSource, KernelPackage, SourceConfig, SourceSurvey, VerifiedStamps } from "./types.ts";
import { sourceId, type Arch } from "../archive/kernel-key.ts";

/** Debian's architecture names, which Ubuntu shares. */
export const debianArches: Readonly<Record<Arch, string>> = { x86_64: "amd64", arm64: "arm64" };

// Debug kernels are in main in every apt-based distro btfmill reads.
const COMPONENT = "main";

/** What stays fixed for one distro. */
export interface AptFamilyProfile {
  /** os-release ID (`debian`), the archive key's distro. */
  distro: string;
  /** Name in messages (`Debian`). */
  label: string;
  /** Names worth parsing: the debug kernel packages and the meta packages named like them. */
  candidateName: RegExp;
  /** Suffix of the debug packages (`-dbg`), for messages. */
  packageSuffix: string;
  /** Keyring when the config names none; for a distro with none btfmill can assume, what to tell the user. */
  defaultKeyring: string | { hint: string };
}

/** Kernel release (`uname -r`) and flavor that a package name carries. */
export interface KernelName {
  kernel: string;
  flavor: string;
}

/** A listed package that carries a kernel, before one package per kernel is chosen. */
export interface AptCandidate extends KernelName {
  record: PackageRecord;
  /** Base URL of the mirror that listed it. */
  base: string;
  suite: string;
}

/** A package named like a debug kernel that is not taken, and why. */
export interface SkippedPackage {
  name: string;
  version: string;
  suite: string;
  reason: string;
}

/** Everything one reading of the indexes found: the packages and absent suites, and what was left out. */
export interface AptSurvey extends SourceSurvey {
  skipped: SkippedPackage[];
}

/** The registry creates a subclass per apt-based distro entry of the config. */
export abstract class AptFamilySource implements DistroSource {
  readonly config: SourceConfig;
  /** The indexes are read unverified: the config said `insecure` and gave no keyring. */
  readonly insecure: boolean;
  readonly #profile: AptFamilyProfile;

  protected constructor(config: SourceConfig, profile: AptFamilyProfile) {
    const id = sourceId(config);
    if (config.distro !== profile.distro) {
      throw new ConfigError(`the ${profile.label} source got a config for ${JSON.stringify(config.distro)}`, {
        hint: "the source registry maps distros to sources",
      });
    }
    if (config.insecure === true && config.keyring !== undefined) {
      throw new ConfigError(`source ${id} sets both \`keyring\` and \`insecure\``, {
        hint: "`insecure` is for a source without a keyring: remove one of the two",
      });
    }
    if (config.insecure !== true && config.keyring === undefined && typeof profile.defaultKeyring !== "string") {
      throw new ConfigError(`source ${id} has no keyring to verify the ${profile.label} indexes with`, {
        hint: profile.defaultKeyring.hint,
      });
    }
    this.config = config;
    this.insecure = config.insecure === true;
    this.#profile = profile;
  }

  /** The suites of a release when the config lists none. */
  protected abstract releaseSuites(release: string): string[];

  /** Kernel release and flavor of a package named like `candidateName`; undefined for a meta package. */
  protected abstract parseName(name: string): KernelName | undefined;

  /** The distro's own mirrors for a source whose config sets no `mirror`. */
  protected abstract defaultRepositories(): Promise<(suite: string) => AptRepository[]>;

  /**
   * Whether a default suite may be missing from every mirror without failing the source: it is
   * then read as empty and named in the survey. A suite the config lists must always exist.
   */
  protected mayLack(_suite: string): boolean {
    return false;
  }

  /** Why a package that names a kernel holds no debug image, if it does not. */
  protected rejectReason(_candidate: AptCandidate): string | undefined {
    return undefined;
  }

  /**
   * Which of two packages of one kernel to take (> 0: `a`): the higher version, since security
   * and updates suites rebuild the same ABI. On a tie the one read first (its suite listed first) stays.
   */
  protected comparePackages(a: AptCandidate, b: AptCandidate): number {
    return compareDebianVersions(a.record.version, b.record.version);
  }

  /** A mirror with the keyring the source trusts: the config's, else the mirror's own listing's, else the distro's. */
  protected repository(base: string, listedKeyring?: string): AptRepository {
    const { defaultKeyring } = this.#profile;
    return {
      base: base.replace(/\/+$/, ""),
      keyring: this.insecure
        ? undefined
        : (this.config.keyring ?? listedKeyring ?? (typeof defaultKeyring === "string" ? defaultKeyring : undefined)),
      checkValidUntil: this.config.checkValidUntil ?? true,
    };
  }

  /** When a run plans: the indexes' debug kernels, one package per kernel, newest first per flavor. */
  async discover(signal?: AbortSignal): Promise<KernelPackage[]> {
    return (await this.survey(signal)).packages;
  }

  /**
   * When a run plans or a test inspects a mirror: the packages, the default suites no mirror has,
   * the packages left out with why, and the stamps of the signed Releases read and of the indexes they list.
   */
  async survey(signal?: AbortSignal): Promise<AptSurvey> {
    const arch = debianArches[this.config.arch];
    const perSuite = await this.#eachSuite(signal, async (suite, root, stop) => {
      const verified = root === undefined ? undefined : await verifySuiteRoot(root, stop);
      const records =
        verified === undefined
          ? []
          : await readPackages(verified, COMPONENT, arch, {
              accept: (name) => this.#profile.candidateName.test(name),
              signal: stop,
            });
      return { suite, root, verified, records };
    });
    const survey: AptSurvey = { packages: [], skipped: [], absentSuites: [], ...(await this.#stamps(perSuite)) };
    const candidates: AptCandidate[] = [];
    for (const { suite, verified, records } of perSuite) {
      if (verified === undefined) {
        survey.absentSuites.push(suite);
        continue;
      }
      for (const record of records) {
        const screened = this.#screen(record, arch, suite, verified.repository.base);
        if (typeof screened === "string")
          survey.skipped.push({ name: record.package, version: record.version, suite, reason: screened });
        else candidates.push(screened);
      }
    }
    survey.packages = this.#select(candidates);
    return survey;
  }

  /** When a run asks whether the source changed: the stamp of each suite's signed Release as served, nothing verified or parsed. */
  async stamp(signal?: AbortSignal): Promise<string> {
    const roots = await this.#eachSuite(signal, async (suite, root) => suiteStampEntry(suite, root));
    return indexStamp(roots);
  }

  /** When a source's stamp changed: each suite's Release verified as survey verifies it, its Packages not read. */
  async verify(signal?: AbortSignal): Promise<VerifiedStamps> {
    const perSuite = await this.#eachSuite(signal, async (suite, root, stop) => ({
      suite,
      root,
      verified: root === undefined ? undefined : await verifySuiteRoot(root, stop),
    }));
    return this.#stamps(perSuite);
  }

  // What survey and verify both say of the suites: the raw stamp of their signed roots, the content
  // stamp of the Packages indexes the verified Releases list, and the earliest Valid-Until.
  async #stamps(
    perSuite: readonly { suite: string; root: SuiteRoot | undefined; verified: VerifiedSuite | undefined }[],
  ): Promise<VerifiedStamps> {
    const arch = debianArches[this.config.arch];
    const stamps: VerifiedStamps = {
      stamp: await indexStamp(perSuite.map(({ suite, root }) => suiteStampEntry(suite, root))),
      contentStamp: await contentStamp(
        perSuite.map(({ suite, verified }) => suiteContentEntry(suite, verified, COMPONENT, arch)),
      ),
    };
    // The stamps hold only until the first of their Releases expires: a run reads the source again by then.
    const earliest = perSuite
      .flatMap(({ verified }) =>
        verified?.repository.checkValidUntil && verified.release.validUntil !== undefined
          ? [verified.release.validUntil]
          : [],
      )
      .toSorted((a, b) => a.getTime() - b.getTime())[0];
    if (earliest !== undefined) stamps.validUntil = earliest.toISOString();
    return stamps;
  }

  // `read` of every suite of the source, in config order, with its signed root from the first
  // mirror that has it (undefined for a default suite that may be missing and that no mirror has).
  // The first suite that fails stops the others' downloads: the source fails as a whole.
  async #eachSuite<T>(
    signal: AbortSignal | undefined,
    read: (suite: string, root: SuiteRoot | undefined, signal: AbortSignal) => Promise<T>,
  ): Promise<T[]> {
    const suites = this.config.suites ?? this.releaseSuites(this.config.release);
    const repositories = await this.#repositories();
    const failed = new AbortController();
    const stop = signal === undefined ? failed.signal : AbortSignal.any([signal, failed.signal]);
    return Promise.all(
      suites.map(async (suite) => {
        try {
          const optional = this.config.suites === undefined && this.mayLack(suite);
          const root = await findSuiteRoot(repositories(suite), suite, stop, { optional });
          return await read(suite, root, stop);
        } catch (error) {
          failed.abort();
          throw error;
        }
      }),
    );
  }

  // The record as a candidate, or why it is not one.
  #screen(record: PackageRecord, arch: string, suite: string, base: string): AptCandidate | string {
    if (record.architecture !== arch) return `built for ${record.architecture}, not ${arch}`;
    const name = this.parseName(record.package);
    if (name === undefined) return "a meta package: its name carries no kernel release";
    const candidate: AptCandidate = { ...name, record, base, suite };
    return this.rejectReason(candidate) ?? candidate;
  }

  // One package per kernel, then the configured flavors, newest first, `latest` of each.
  #select(candidates: AptCandidate[]): KernelPackage[] {
    const { label, packageSuffix } = this.#profile;
    return selectKernels(candidates, {
      preferred: (a, b) => this.comparePackages(a, b),
      newer: (a, b) => compareDebianVersions(a.record.version, b.record.version),
      flavors: this.config.flavors,
      latest: this.config.latest,
      missingFlavors: (missing) =>
        `${label} ${this.config.release} ${this.config.arch} has no ${packageSuffix} kernels of flavor ${missing.join(", ")}`,
    }).map((candidate) => this.#kernelPackage(candidate));
  }

  #kernelPackage({ record, kernel, flavor, base, suite }: AptCandidate): KernelPackage {
    return {
      key: { distro: this.#profile.distro, release: this.config.release, arch: this.config.arch, kernel },
      flavor,
      name: record.package,
      version: record.version,
      url: `${base}/${record.filename}`,
      sha256: record.sha256,
      size: record.size,
      format: "deb",
      vmlinuxPath: `usr/lib/debug/boot/vmlinux-${kernel}`,
      origin: suite,
    };
  }

  // The config's mirrors, in order, for every suite; else the distro's own.
  async #repositories(): Promise<(suite: string) => AptRepository[]> {
    if (this.config.mirror === undefined) return this.defaultRepositories();
    const repositories = this.config.mirror.map((base) => this.repository(base));
    return () => repositories;
  }
}
