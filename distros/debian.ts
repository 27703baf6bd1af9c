// Debian: `linux-image-<kernel>-dbg` in `main` of a release's suites, the point release, its
// -updates and its security suite (on another base URL). Mirrors come from the config or, by
// default, from the machine's apt sources, so nothing here names a mirror host.
import { ConfigError } from "../pipeline/errors.ts";
import { findSuite, readPackages } from "./repos/apt.ts";
import type { AptRepository } from "./repos/apt.ts";
import { loadAptSources } from "./repos/apt-sources.ts";
import type { AptSource } from "./repos/apt-sources.ts";
import { compareDebianVersions } from "./repos/deb-version.ts";
import type { PackageRecord } from "./repos/packages-index.ts";
import type { Arch, DistroSource, KernelPackage, SourceConfig } from "./types.ts";

/** VERSION_ID -> codename, for the releases that published `-dbg` kernel packages. */
export const debianCodenames: Readonly<Record<string, string>> = {
  "9": "stretch",
  "10": "buster",
  "11": "bullseye",
  "12": "bookworm",
  "13": "trixie",
  "14": "forky",
};

const debianArches: Readonly<Record<Arch, string>> = { x86_64: "amd64", arm64: "arm64" };
const defaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
// Suite names an apt entry for Debian's own archive uses, before any `-updates`/`/updates`.
const suiteRoots = new Set([...Object.values(debianCodenames), "stable", "oldstable", "oldoldstable", "testing", "unstable", "sid"]);

// `6.1.0-47-cloud-amd64` (ABI 47), `5.10.0-0.deb10.16-amd64` (a backport's ABI),
// `6.12.38+deb13-arm64-16k` (trixie's ABI-less names): upstream, ABI, then the flavor.
// Meta packages (`linux-image-cloud-amd64-dbg`) do not start with a version and never match.
const kernelPackage = /^linux-image-(\d+\.\d+(?:\.\d+)?(?:-\d[0-9a-z.]*|\+[0-9a-z.]+)-([a-z0-9]+(?:-[a-z0-9]+)*))-dbg$/;

/** When a config names no suites: the point release, -updates and security suites of a release. */
export function debianSuites(release: string): string[] {
  const codename = debianCodenames[release];
  if (codename === undefined) {
    throw new ConfigError(`Debian release ${JSON.stringify(release)} is not one btfmill knows`, {
      hint: `use a VERSION_ID among ${Object.keys(debianCodenames).join(", ")}, or list the suites in the config`,
    });
  }
  // The security archive renamed `<codename>/updates` to `<codename>-security` with bullseye.
  return [codename, `${codename}-updates`, Number(release) >= 11 ? `${codename}-security` : `${codename}/updates`];
}

/** When an index is scanned: the kernel release and flavor a `-dbg` package name carries, if any. */
export function parseDebianKernelPackage(name: string): { kernel: string; flavor: string } | undefined {
  const match = kernelPackage.exec(name);
  return match === null ? undefined : { kernel: match[1]!, flavor: match[2]! };
}

export interface DebianSourceOptions {
  /** Root of the file system whose apt sources give the default mirrors (tests point it elsewhere). */
  aptRoot?: string;
}

interface Candidate {
  record: PackageRecord;
  kernel: string;
  flavor: string;
  base: string;
  suite: string;
}

/** The registry creates one per `debian` entry of the config's sources. */
export class DebianSource implements DistroSource {
  readonly config: SourceConfig;
  readonly #aptRoot: string;

  constructor(config: SourceConfig, options: DebianSourceOptions = {}) {
    if (config.distro !== "debian") {
      throw new ConfigError(`DebianSource got a config for ${JSON.stringify(config.distro)}`, { hint: "the source registry maps distros to sources" });
    }
    this.config = config;
    this.#aptRoot = options.aptRoot ?? "/";
  }

  /** When a run plans: the signed indexes' `-dbg` kernels, one package per kernel, newest first per flavor. */
  async discover(signal?: AbortSignal): Promise<KernelPackage[]> {
    const arch = debianArches[this.config.arch];
    const suites = this.config.suites ?? debianSuites(this.config.release);
    const repositories = await this.#repositories();
    // The first suite that fails stops the others' downloads: the source fails as a whole.
    const failed = new AbortController();
    const stop = signal === undefined ? failed.signal : AbortSignal.any([signal, failed.signal]);
    const perSuite = await Promise.all(
      suites.map(async (suite) => {
        try {
          const verified = await findSuite(repositories(suite), suite, stop);
          const records = await readPackages(verified, "main", arch, { accept: (name) => kernelPackage.test(name), signal: stop });
          return records
            .filter((record) => record.architecture === arch)
            .map((record): Candidate => ({ record, ...parseDebianKernelPackage(record.package)!, base: verified.repository.base, suite }));
        } catch (error) {
          failed.abort();
          throw error;
        }
      }),
    );
    return this.#select(perSuite.flat());
  }

  // One package per kernel (the highest version across suites: security and updates rebuild the
  // same ABI), then the configured flavors, newest first, `latest` of each.
  #select(candidates: Candidate[]): KernelPackage[] {
    const byKernel = new Map<string, Candidate>();
    for (const candidate of candidates) {
      const held = byKernel.get(candidate.kernel);
      if (held === undefined || compareDebianVersions(candidate.record.version, held.record.version) > 0) {
        byKernel.set(candidate.kernel, candidate);
      }
    }
    const byFlavor = new Map<string, Candidate[]>();
    for (const candidate of byKernel.values()) {
      byFlavor.set(candidate.flavor, [...(byFlavor.get(candidate.flavor) ?? []), candidate]);
    }
    const wanted = this.config.flavors ?? [...byFlavor.keys()];
    const missing = wanted.filter((flavor) => !byFlavor.has(flavor));
    if (missing.length > 0) {
      throw new ConfigError(`Debian ${this.config.release} ${this.config.arch} has no -dbg kernels of flavor ${missing.join(", ")}`, {
        hint: `flavors found: ${[...byFlavor.keys()].sort().join(", ") || "none"}`,
      });
    }
    return [...new Set(wanted)].sort().flatMap((flavor) =>
      byFlavor
        .get(flavor)!
        .sort((a, b) => compareDebianVersions(b.record.version, a.record.version) || (a.kernel < b.kernel ? 1 : -1))
        .slice(0, this.config.latest ?? Infinity)
        .map((candidate) => this.#kernelPackage(candidate)),
    );
  }

  #kernelPackage({ record, kernel, flavor, base, suite }: Candidate): KernelPackage {
    return {
      key: { distro: "debian", release: this.config.release, arch: this.config.arch, kernel },
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

  // The mirrors to try for each suite: the config's, in order, or the machine's Debian apt
  // entries, those that list the suite first (the security suite lives on its own base URL).
  async #repositories(): Promise<(suite: string) => AptRepository[]> {
    const { mirror, keyring } = this.config;
    if (mirror !== undefined) {
      const repositories = mirror.map((base) => ({ base: base.replace(/\/+$/, ""), keyring: keyring ?? defaultKeyring }));
      return () => repositories;
    }
    // Third-party repositories share those files; only entries listing Debian's suites are its mirrors.
    const entries = (await loadAptSources(this.#aptRoot)).filter(
      (entry) => entry.type === "deb" && entry.suites.some((suite) => suiteRoots.has(suite.split(/[-/]/)[0]!)),
    );
    if (entries.length === 0) {
      throw new ConfigError(`no Debian entries in the apt sources under ${this.#aptRoot}`, {
        hint: "set `mirror` for this source in the config",
      });
    }
    return (suite) => {
      const ordered = [...entries.filter((entry) => entry.suites.includes(suite)), ...entries.filter((entry) => !entry.suites.includes(suite))];
      const seen = new Set<string>();
      return ordered.flatMap((entry) => {
        if (seen.has(entry.uri)) return [];
        seen.add(entry.uri);
        return [{ base: entry.uri, keyring: keyring ?? aptKeyring(entry) }];
      });
    };
  }
}

// Signed-By lists keyring files (absolute paths) or key fingerprints; a fingerprint names a key
// in apt's own trust store, which btfmill does not read, so it falls back to Debian's keyring.
function aptKeyring(entry: AptSource): string {
  return entry.signedByKey ?? entry.signedBy.find((item) => item.startsWith("/")) ?? defaultKeyring;
}
