// Debian 13 (trixie) packages for tests that need a newer library than Debian 12 ships, fetched
// the way btfmill reads any apt suite: the machine's own Debian mirror (from its apt sources),
// trixie's InRelease verified against the machine's keyring, the Packages index checked against
// its signed sha256, each .deb against the index's sha256 and size, then unpacked by dpkg-deb.
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { sha256Hex } from "../../archive/file-digest.ts";
import { loadAptSources } from "../../distros/repos/apt-sources.ts";
import { findSuite, readPackages } from "../../distros/repos/apt.ts";
import type { PackageRecord } from "../../distros/repos/packages-index.ts";
import { fetchBytes } from "../../distros/net/http.ts";

const suite = "trixie";
const defaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
const maxDebBytes = 64 * 1024 * 1024;
const probeTimeoutMs = 5_000;

export type Unpacked = { root: string; packages: PackageRecord[] } | { skip: string };

/**
 * When a test needs trixie packages: `names` unpacked into one tree (cached under the system temp
 * folder by their sha256s, so a second run downloads nothing), or why they cannot be had here.
 */
export async function unpackTrixiePackages(names: readonly string[]): Promise<Unpacked> {
  const source = (await loadAptSources()).find((entry) => entry.type === "deb" && entry.suites.some((name) => /^bookworm([-/]|$)/.test(name)));
  if (source === undefined) return { skip: "no apt source of this machine lists a Debian suite" };
  const probe = `${source.uri}/dists/${suite}/InRelease`;
  try {
    const response = await fetch(probe, { method: "HEAD", signal: AbortSignal.timeout(probeTimeoutMs) });
    if (!response.ok) return { skip: `Debian mirror unreachable: HEAD ${probe} answered HTTP ${response.status}` };
  } catch (error) {
    return { skip: `Debian mirror unreachable: HEAD ${probe} failed within ${probeTimeoutMs} ms: ${(error as Error).message}` };
  }
  const keyring = source.signedBy.find((entry) => entry.startsWith("/")) ?? defaultKeyring;
  const verified = await findSuite([{ base: source.uri, keyring, checkValidUntil: true }], suite);
  const wanted = new Set(names);
  const records = await readPackages(verified, "main", "amd64", { accept: (name) => wanted.has(name) });
  const missing = names.filter((name) => !records.some((record) => record.package === name));
  if (missing.length > 0) throw new Error(`${suite} main lists no ${missing.join(", ")}`);
  const packages = names.map((name) => records.find((record) => record.package === name)!);
  const root = join(tmpdir(), "btfmill-trixie", sha256Hex(packages.map((record) => record.sha256).join("\n")).slice(0, 16));
  if (await exists(join(root, ".complete"))) return { root, packages };
  const scratch = await mkdtemp(join(tmpdir(), "btfmill-trixie-"));
  try {
    for (const record of packages) {
      const url = `${source.uri}/${record.filename}`;
      const bytes = await fetchBytes(url, { maxBytes: maxDebBytes });
      if (bytes.length !== record.size || sha256Hex(bytes) !== record.sha256) {
        throw new Error(`${url}: ${bytes.length} bytes with sha256 ${sha256Hex(bytes)}, the signed index says ${record.size} bytes with ${record.sha256}`);
      }
      const deb = join(scratch, `${record.package}.deb`);
      await writeFile(deb, bytes);
      await execa("dpkg-deb", ["-x", deb, join(scratch, "root")]);
      await rm(deb);
    }
    await writeFile(join(scratch, "root", ".complete"), packages.map((record) => `${record.package} ${record.version} ${record.sha256}\n`).join(""));
    await mkdir(join(root, ".."), { recursive: true });
    // Another test worker may have unpacked the same set meanwhile: its tree is as good as ours.
    await rename(join(scratch, "root"), root).catch(async (error: NodeJS.ErrnoException) => {
      if (!(await exists(join(root, ".complete")))) throw error;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { root, packages };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
