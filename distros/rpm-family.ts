// What every RPM distro shares: a release's repositories are read from the first mirror that has
// each, their primary lists are scanned for the debug kernel packages, and those are grouped by
// flavor and ordered by rpm's version comparison. A distro file says where its repositories are
// (and overrides one method when its packages differ, as openSUSE's do); nothing else.
import { ConfigError, FetchError } from "../archive/errors.ts";
import { searchMirrors } from "./repos/first-mirror.ts";
import { resolveMirrorList } from "./repos/mirror-list.ts";
import type { PrimaryPackage } from "./repos/primary.ts";
import { compareEvr, formatEvr } from "./repos/rpm-version.ts";
import { selectKernels } from "./kernel-selection.ts";
import { contentStamp, indexStamp } from "./repos/index-stamp.ts";
import {
  findRepositoryRoot,
  readPrimary,
  repositoryContentEntry,
  repositoryStampEntry,
  repositoryUrl,
  verifyRepomdRoot,
} from "./repos/yum.ts";
import type { RepomdRoot, VerifiedRepomd, YumRepository } from "./repos/yum.ts";
import type { DistroSource, KernelPackage, SourceConfig, SourceSurvey, VerifiedStamps } from "./types.ts";
import type { Arch } from "../archive/kernel-key.ts";

/** `uname -m` of the packages: the name repository paths and primary's `<arch>` use. */
export type RpmArch = "x86_64" | "aarch64";

/** One repository of a release, by its path under a mirror's base URL. */
export interface RpmRepositorySpec {
  /** Path under each mirror, without slashes at its ends (`updates/31/Everything/x86_64/debug`); "" for the mirror itself. */
  path: string;
  /** Where a package came from, for the manifest (`updates`). */
  origin: string;
  /** The path is a mirror.list naming the repository (Amazon Linux), not the repository itself. */
  mirrorList?: boolean;
}

interface Candidate {
  pkg: PrimaryPackage;
  flavor: string;
  kernel: string;
  url: string;
  origin: string;
}

// A repository's signed root as found, with the mirror.list that named it.
interface LocatedRepository {
  root: RepomdRoot;
  mirrorList?: Buffer;
}

const rpmArches: Readonly<Record<Arch, RpmArch>> = { x86_64: "x86_64", arm64: "aarch64" };

/** The registry creates a subclass of this per RPM distro entry of the config's sources. */
export abstract class RpmFamilySource implements DistroSource {
  readonly config: SourceConfig;
  readonly insecure: boolean;

  constructor(config: SourceConfig) {
    this.config = config;
    this.insecure = config.insecure === true;
  }

  /** When no `mirror` is configured: the distro's public base URLs for a release, in the order to try them. */
  protected abstract defaultMirrors(release: string): readonly string[];

  /** When a run plans: the repositories of a release; ConfigError for a release the distro never had. */
  protected abstract repositories(release: string, arch: RpmArch): RpmRepositorySpec[];

  /** When primary is scanned: the flavor a package name stands for, or undefined for packages without a vmlinux. */
  protected flavorOf(name: string): string | undefined {
    // `kernel-debuginfo-common-<arch>` holds the sources, not the vmlinux: only the exact name counts.
    return name === "kernel-debuginfo" ? "default" : undefined;
  }

  /** When a package is kept: `uname -r` of its kernel, `4.18.0-147.el8.x86_64` in the RH family. */
  protected kernelRelease(pkg: PrimaryPackage, _flavor: string): string {
    return `${pkg.version}-${pkg.release}.${pkg.arch}`;
  }

  /** When a package is kept: where its vmlinux is in the payload (the RH family's debuginfo tree). */
  protected vmlinuxPath(kernel: string): string {
    return `usr/lib/debug/lib/modules/${kernel}/vmlinux`;
  }

  /**
   * When a run plans: the packages, and the stamp of the repomd.xml files (and mirror lists) they
   * were read under; every repository of an RPM release must exist, so none is absent.
   */
  async survey(signal?: AbortSignal): Promise<SourceSurvey> {
    const perRepository = await this.#eachRepository(signal, async ({ spec, arch, located, signal: stop }) => {
      const verified = await verifyRepomdRoot(located.root, stop);
      const packages = await readPrimary(verified, {
        accept: (name) => this.flavorOf(name) !== undefined,
        signal: stop,
      });
      const candidates = packages
        .filter((pkg) => pkg.arch === arch)
        .map((pkg): Candidate => {
          const flavor = this.flavorOf(pkg.name)!;
          return {
            pkg,
            flavor,
            kernel: this.kernelRelease(pkg, flavor),
            url: repositoryUrl(verified.repository, pkg.href),
            origin: spec.origin,
          };
        });
      return { spec, located, verified, candidates };
    });
    return {
      packages: this.#select(perRepository.flatMap(({ candidates }) => candidates)),
      absentSuites: [],
      ...(await stamps(perRepository)),
    };
  }

  /** When a test reads a mirror: every repository of the release, the packages newest first per flavor. */
  async discover(signal?: AbortSignal): Promise<KernelPackage[]> {
    return (await this.survey(signal)).packages;
  }

  /** When a run asks whether the source changed: the stamp of each repository's repomd.xml (and mirror list), nothing verified or parsed. */
  async stamp(signal?: AbortSignal): Promise<string> {
    const entries = await this.#eachRepository(signal, async ({ spec, located }) =>
      repositoryStampEntry(spec.path, located.root, located.mirrorList),
    );
    return indexStamp(entries);
  }

  /** When a source's stamp changed: each repository's repomd.xml verified as survey verifies it, its primary not read. */
  async verify(signal?: AbortSignal): Promise<VerifiedStamps> {
    const perRepository = await this.#eachRepository(signal, async ({ spec, located, signal: stop }) => ({
      spec,
      located,
      verified: await verifyRepomdRoot(located.root, stop),
    }));
    return stamps(perRepository);
  }

  // `read` of every repository of the source, in config order, each found on the first mirror that
  // has it. The first repository that fails stops the others' downloads: the source fails as a whole.
  async #eachRepository<T>(
    signal: AbortSignal | undefined,
    read: (found: {
      spec: RpmRepositorySpec;
      arch: RpmArch;
      located: LocatedRepository;
      signal: AbortSignal;
    }) => Promise<T>,
  ): Promise<T[]> {
    const keyring = this.#keyring();
    const mirrors = this.#mirrors();
    const arch = rpmArches[this.config.arch];
    const specs =
      this.config.suites?.map((path) => ({
        path: trimSlashes(path),
        origin: trimSlashes(path),
        mirrorList: path.endsWith("mirror.list"),
      })) ?? this.repositories(this.config.release, arch);
    const failed = new AbortController();
    const stop = signal === undefined ? failed.signal : AbortSignal.any([signal, failed.signal]);
    return Promise.all(
      specs.map(async (spec) => {
        try {
          const located = await this.#locate(spec, mirrors, keyring, arch, stop);
          return await read({ spec, arch, located, signal: stop });
        } catch (error) {
          failed.abort();
          throw error;
        }
      }),
    );
  }

  // One package per kernel (the highest version: a rebuild in updates replaces the release's),
  // then the configured flavors, newest first, `latest` of each.
  #select(candidates: Candidate[]): KernelPackage[] {
    return selectKernels(candidates, {
      preferred: (a, b) => compareEvr(a.pkg, b.pkg),
      newer: (a, b) => compareEvr(a.pkg, b.pkg),
      flavors: this.config.flavors,
      latest: this.config.latest,
      missingFlavors: (missing) => `${this.#name()} has no debug kernels of flavor ${missing.join(", ")}`,
    }).map((candidate) => this.#kernelPackage(candidate));
  }

  #kernelPackage({ pkg, flavor, kernel, url, origin }: Candidate): KernelPackage {
    return {
      key: { distro: this.config.distro, release: this.config.release, arch: this.config.arch, kernel },
      flavor,
      name: pkg.name,
      version: formatEvr(pkg),
      url,
      sha256: pkg.sha256,
      size: pkg.size,
      format: "rpm",
      vmlinuxPath: this.vmlinuxPath(kernel),
      origin,
    };
  }

  // A repository's signed root from the first mirror that has it; through that mirror's mirror.list
  // for the distros that name repositories so.
  async #locate(
    spec: RpmRepositorySpec,
    mirrors: readonly string[],
    keyring: string | undefined,
    arch: RpmArch,
    signal: AbortSignal,
  ): Promise<LocatedRepository> {
    const what = `${this.#name()} ${spec.origin}`;
    const under = (mirror: string) => (spec.path === "" ? mirror : `${mirror}/${spec.path}`);
    if (!spec.mirrorList) {
      const repositories = mirrors.map((mirror): YumRepository => ({ base: under(mirror), keyring }));
      return { root: await findRepositoryRoot(repositories, what, signal) };
    }
    const { found, tried } = await searchMirrors(
      mirrors,
      under,
      async (mirror): Promise<LocatedRepository | undefined> => {
        const list = await resolveMirrorList(under(mirror), arch, signal);
        if (list === undefined) return undefined;
        return { root: await findRepositoryRoot([{ base: list.base, keyring }], what, signal), mirrorList: list.bytes };
      },
      signal,
    );
    if (found !== undefined) return found;
    throw new FetchError(`the mirror list of ${what} was found on none of the mirrors tried: ${tried.join(", ")}`, {
      hint: "check the release and arch in the config, or set `mirror`",
    });
  }

  #keyring(): string | undefined {
    if (this.insecure) return undefined;
    if (this.config.keyring === undefined) {
      throw new ConfigError(`${this.#name()}: no keyring to verify repomd.xml signatures with`, {
        hint: "set `keyring` to the key that signs the repository's repomd.xml.asc, or `insecure: true` for repositories that sign only their packages (Fedora, CentOS, Amazon Linux)",
      });
    }
    return this.config.keyring;
  }

  #mirrors(): string[] {
    const mirrors = (this.config.mirror ?? this.defaultMirrors(this.config.release)).map((mirror) =>
      mirror.replace(/\/+$/, ""),
    );
    if (mirrors.length === 0) {
      throw new ConfigError(`${this.#name()} has no public mirror`, {
        hint: "set `mirror` to the base URL of a mirror of its debug repositories (a reposync of the debug repos, for instance)",
      });
    }
    return mirrors;
  }

  #name(): string {
    return `${this.config.distro} ${this.config.release} ${this.config.arch}`;
  }
}

/** When a distro file meets a release it does not know: the ConfigError that says which it knows. */
export function unknownRelease(config: SourceConfig, known: string): ConfigError {
  return new ConfigError(`${config.distro} release ${JSON.stringify(config.release)} is not one btfmill knows`, {
    hint: `use a VERSION_ID among ${known}, or list the repository paths under the mirror in \`suites\``,
  });
}

// What survey and verify both say of the repositories: the raw stamp of their signed roots (and
// mirror lists) and the content stamp of the primary each verified repomd.xml lists; repomd.xml
// carries no Valid-Until.
async function stamps(
  perRepository: readonly { spec: RpmRepositorySpec; located: LocatedRepository; verified: VerifiedRepomd }[],
): Promise<VerifiedStamps> {
  return {
    stamp: await indexStamp(
      perRepository.map(({ spec, located }) => repositoryStampEntry(spec.path, located.root, located.mirrorList)),
    ),
    contentStamp: await contentStamp(
      perRepository.map(({ spec, verified }) => repositoryContentEntry(spec.path, verified)),
    ),
  };
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, "");
}
