// Ubuntu: debug kernels live on the debug-symbol archive (ddebs), in `main` of
// `<codename>{,-updates,-security,-proposed}`, every architecture on one host:
//
//   Package: linux-image-unsigned-5.8.0-63-generic-dbgsym
//   Source: linux-hwe-5.8
//   Version: 5.8.0-63.71~20.04.1
//   Filename: pool/main/l/linux-hwe-5.8/linux-image-unsigned-5.8.0-63-generic-dbgsym_5.8.0-63.71~20.04.1_amd64.ddeb
//
// A kernel signed for Secure Boot has two such packages: `linux-image-unsigned-<kernel>-dbgsym`,
// built with the kernel, holds the debug vmlinux; `linux-image-<kernel>-dbgsym` from the
// linux-signed source is a stub of a few KB. A kernel without a signed build has only the latter
// name, and then it is the real one. HWE and cloud kernels belong to the release whose archive
// ships them: a 5.4 kernel from bionic-updates is `ubuntu/18.04/...`.
import { ConfigError } from "../archive/errors.ts";
import { AptFamilySource } from "./apt-family.ts";
import type { AptCandidate, KernelName } from "./apt-family.ts";
import type { AptRepository } from "./repos/apt.ts";
import type { SourceConfig } from "./types.ts";

/** VERSION_ID -> codename, for the releases btfmill knows without a `suites` list. */
export const ubuntuCodenames: Readonly<Record<string, string>> = {
  "16.04": "xenial",
  "18.04": "bionic",
  "20.04": "focal",
  "22.04": "jammy",
  "24.04": "noble",
  "24.10": "oracular",
  "25.04": "plucky",
  "25.10": "questing",
};

/** The debug-symbol archive, when the config names no `mirror`. */
export const ubuntuDefaultMirror = "http://ddebs.ubuntu.com";

/**
 * A signed `linux-image-<kernel>-dbgsym` smaller than this is a stub, not a debug image (real
 * ones are hundreds of MB; BTFHub draws the line at the same 10 MB).
 */
export const ubuntuStubMaxBytes = 10_000_000;

// `5.8.0-63-generic`, `5.4.0-1055-aws`, `6.8.0-31-generic-64k`: upstream version, ABI, then the
// flavor. Meta packages carry no version and never match.
const kernelPackage = /^linux-image-(unsigned-)?(\d+\.\d+\.\d+-\d+-([a-z][a-z0-9]*(?:-[a-z0-9]+)*))-dbgsym$/;

/**
 * When a config names no suites: the release, -updates, -security and, unless the config sets
 * `proposed: false`, -proposed suites of a release.
 */
export function ubuntuSuites(release: string, options: { proposed?: boolean | undefined } = {}): string[] {
  const codename = ubuntuCodenames[release];
  if (codename === undefined) {
    throw new ConfigError(`Ubuntu release ${JSON.stringify(release)} is not one btfmill knows`, {
      hint: `use a VERSION_ID among ${Object.keys(ubuntuCodenames).join(", ")}, or list the suites in the config`,
    });
  }
  const suites = [codename, `${codename}-updates`, `${codename}-security`];
  // -proposed holds the kernels of the next update, a week or two before -updates: reading it has
  // their BTF ready the day they are released, at the cost of respins that never are (docs/configuration.md).
  return options.proposed === false ? suites : [...suites, `${codename}-proposed`];
}

/** When an index is scanned: the kernel release and flavor a `-dbgsym` package name carries, and which form it is. */
export function parseUbuntuKernelPackage(name: string): (KernelName & { unsigned: boolean }) | undefined {
  const match = kernelPackage.exec(name);
  return match === null ? undefined : { kernel: match[2]!, flavor: match[3]!, unsigned: match[1] !== undefined };
}

function isUnsigned(name: string): boolean {
  return parseUbuntuKernelPackage(name)?.unsigned === true;
}

/** The registry creates one per `ubuntu` entry of the config's sources. */
export class UbuntuSource extends AptFamilySource {
  constructor(config: SourceConfig) {
    super(config, {
      distro: "ubuntu",
      label: "Ubuntu",
      candidateName: /^linux-image-.+-dbgsym$/,
      packageSuffix: "-dbgsym",
      // Ubuntu's debug-symbol key is not on a Debian machine by default: the config names it.
      defaultKeyring: {
        hint: "set `keyring` to the debug-symbol archive's key (Ubuntu's ubuntu-dbgsym-keyring package installs /usr/share/keyrings/ubuntu-dbgsym-keyring.gpg), or set `insecure: true` to read the indexes unverified",
      },
    });
  }

  protected override releaseSuites(release: string): string[] {
    return ubuntuSuites(release, { proposed: this.config.proposed });
  }

  protected override parseName(name: string): KernelName | undefined {
    const parsed = parseUbuntuKernelPackage(name);
    return parsed === undefined ? undefined : { kernel: parsed.kernel, flavor: parsed.flavor };
  }

  // ddebs publishes no -security suites (apt reports they have no Release file): security builds
  // reach it through -updates. Partial mirrors (BTFHub reads only `<codename>` and -updates) often
  // skip -proposed too. A mirror that has either is still read.
  protected override mayLack(suite: string): boolean {
    return suite.endsWith("-security") || suite.endsWith("-proposed");
  }

  protected override rejectReason({ record, kernel }: AptCandidate): string | undefined {
    if (isUnsigned(record.package) || record.size >= ubuntuStubMaxBytes) return undefined;
    return `a signed stub of ${record.size} bytes (under ${ubuntuStubMaxBytes / 1_000_000} MB), not a debug image; linux-image-unsigned-${kernel}-dbgsym carries the vmlinux`;
  }

  // The unsigned package is the debug build itself; a signed one that is not a stub only stands in
  // when no unsigned one is listed.
  protected override comparePackages(a: AptCandidate, b: AptCandidate): number {
    return Number(isUnsigned(a.record.package)) - Number(isUnsigned(b.record.package)) || super.comparePackages(a, b);
  }

  protected override async defaultRepositories(): Promise<(suite: string) => AptRepository[]> {
    const repositories = [this.repository(ubuntuDefaultMirror)];
    return () => repositories;
  }
}
