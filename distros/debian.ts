// Debian: `linux-image-<kernel>-dbg` in `main` of a release's suites, the point release, its
// -updates and its security suite (on another base URL). Mirrors come from the config or, by
// default, from the machine's apt sources, so nothing here names a mirror host. Reading and
// choosing packages is shared with Ubuntu (apt-family.ts).
import { ConfigError } from "../archive/errors.ts";
import { AptFamilySource } from "./apt-family.ts";
import type { KernelName } from "./apt-family.ts";
import type { AptRepository } from "./repos/apt.ts";
import { loadAptSources } from "./repos/apt-sources.ts";
import type { AptSource } from "./repos/apt-sources.ts";
import type { SourceConfig } from "./types.ts";

/** VERSION_ID -> codename, for the releases that published `-dbg` kernel packages. */
export const debianCodenames: Readonly<Record<string, string>> = {
  "9": "stretch",
  "10": "buster",
  "11": "bullseye",
  "12": "bookworm",
  "13": "trixie",
  "14": "forky",
};

const defaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
// Suite names an apt entry for Debian's own archive uses, before any `-updates`/`/updates`.
const suiteRoots = new Set([
  ...Object.values(debianCodenames),
  "stable",
  "oldstable",
  "oldoldstable",
  "testing",
  "unstable",
  "sid",
]);

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
export function parseDebianKernelPackage(name: string): KernelName | undefined {
  const match = kernelPackage.exec(name);
  return match === null ? undefined : { kernel: match[1]!, flavor: match[2]! };
}

export interface DebianSourceOptions {
  /** Root of the file system whose apt sources give the default mirrors (tests point it elsewhere). */
  aptRoot?: string;
}

/** The registry creates one per `debian` entry of the config's sources. */
export class DebianSource extends AptFamilySource {
  readonly #aptRoot: string;

  constructor(config: SourceConfig, options: DebianSourceOptions = {}) {
    super(config, {
      distro: "debian",
      label: "Debian",
      candidateName: /^linux-image-.+-dbg$/,
      packageSuffix: "-dbg",
      defaultKeyring,
    });
    this.#aptRoot = options.aptRoot ?? "/";
  }

  protected override releaseSuites(release: string): string[] {
    return debianSuites(release);
  }

  protected override parseName(name: string): KernelName | undefined {
    return parseDebianKernelPackage(name);
  }

  // -updates rarely carries a kernel (stable-updates is for what cannot wait for a point release)
  // and partial mirrors skip it. The security suite must exist: between point releases Debian
  // ships its new kernels there, so a mirror without it would hold the archive weeks behind.
  protected override mayLack(suite: string): boolean {
    return suite.endsWith("-updates");
  }

  // The machine's Debian apt entries, each with the keyring its Signed-By names. The mirror they
  // name serves every release, also those they do not list (trixie on a bookworm machine): for a
  // suite, the entries that list it come first, then those listing a suite of its part of the
  // archive (the security suites live on their own base URL), then the rest.
  protected override async defaultRepositories(): Promise<(suite: string) => AptRepository[]> {
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
      const rank = (entry: AptSource): number => {
        if (entry.suites.includes(suite)) return 0;
        return entry.suites.some((listed) => archivePart(listed) === archivePart(suite)) ? 1 : 2;
      };
      const ordered = entries.toSorted((a, b) => rank(a) - rank(b));
      const seen = new Set<string>();
      return ordered.flatMap((entry) => {
        if (seen.has(entry.uri)) return [];
        seen.add(entry.uri);
        return [this.repository(entry.uri, aptKeyring(entry))];
      });
    };
  }
}

// `-security`, `-updates`, `-backports` or the release itself (""): which part of Debian's archive
// a suite is in, whatever its release. The security archive's suites were `<codename>/updates` until buster.
function archivePart(suite: string): string {
  if (suite.endsWith("-security") || suite.endsWith("/updates")) return "security";
  const cut = suite.search(/[-/]/);
  return cut < 0 ? "" : suite.slice(cut);
}

// Signed-By lists keyring files (absolute paths) or key fingerprints; a fingerprint names a key
// in apt's own trust store, which btfmill does not read, so Debian's keyring stands in for it.
function aptKeyring(entry: AptSource): string | undefined {
  return entry.signedByKey ?? entry.signedBy.find((item) => item.startsWith("/"));
}
