// Debian 13 (trixie) packages for tests that need a newer library than Debian 12 ships, installed
// the way `btfmill toolchain` installs its own (installDebianPackages): from the machine's own
// Debian mirror (from its apt sources), every index and .deb checked against signed sha256s.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAptSources } from "../../distros/repos/apt-sources.ts";
import type { PackageRecord } from "../../distros/repos/packages-index.ts";
import { installDebianPackages } from "../../pipeline/toolchain/install.ts";

const suite = "trixie";
const defaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
const probeTimeoutMs = 5_000;

export type Unpacked = { root: string; packages: PackageRecord[] } | { skip: string };

/**
 * When a test needs trixie packages: `names` unpacked into one tree (cached under the system temp
 * folder by their versions and sha256s, so a second run downloads nothing), or why they cannot be had here.
 */
export async function unpackTrixiePackages(names: readonly string[]): Promise<Unpacked> {
  const source = (await loadAptSources()).find(
    (entry) => entry.type === "deb" && entry.suites.some((name) => /^bookworm([-/]|$)/.test(name)),
  );
  if (source === undefined) return { skip: "no apt source of this machine lists a Debian suite" };
  const probe = `${source.uri}/dists/${suite}/InRelease`;
  try {
    const response = await fetch(probe, { method: "HEAD", signal: AbortSignal.timeout(probeTimeoutMs) });
    if (!response.ok) return { skip: `Debian mirror unreachable: HEAD ${probe} answered HTTP ${response.status}` };
  } catch (error) {
    return {
      skip: `Debian mirror unreachable: HEAD ${probe} failed within ${probeTimeoutMs} ms: ${(error as Error).message}`,
    };
  }
  const keyring = source.signedBy.find((entry) => entry.startsWith("/")) ?? defaultKeyring;
  const installed = await installDebianPackages({
    dir: join(tmpdir(), "btfmill-trixie"),
    repositories: [{ base: source.uri, keyring, checkValidUntil: true }],
    suite,
    debArch: "amd64",
    packages: names,
  });
  return { root: installed.root, packages: installed.records };
}
