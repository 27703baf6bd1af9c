// Lookup as a program calls it: reads the host's facts (os-release, uname -r, arch) unless told
// otherwise, then the site's manifest root and the part of the host's source, and only when the
// kernel is not there the reverse index and the parts it points to; answers with the file's URL.
import { readFile } from "node:fs/promises";
import { arch as nodeArch, release as unameRelease } from "node:os";
import { ConfigError } from "../archive/errors.ts";
import { normalizeArch } from "./arch.ts";
import { lookupKernel, type LookupResult } from "./lookup.ts";
import { parseOsRelease } from "./os-release.ts";
import { matchSources, openSiteManifest, readUnameIndex } from "./read-manifest.ts";
import { openSite, type SiteSource } from "./site-source.ts";

export interface LookupOptions {
  /** Site base URL or folder. */
  from: string;
  /** os-release file; default /etc/os-release (a container passes the host's, as Tracee does). */
  osReleaseFile?: string;
  /** uname -r; default the running kernel's. */
  kernel?: string;
  /** Any alias (aarch64, amd64); default this machine's. */
  arch?: string;
  set?: string;
  publicKey?: string;
  signal?: AbortSignal;
}

export type HostLookupResult = LookupResult & { url?: string };

/** When a program needs the BTF for a host: the lookup result, with the file's URL or path when found. */
export async function lookup(options: LookupOptions): Promise<HostLookupResult> {
  const archName = options.arch ?? nodeArch();
  const arch = normalizeArch(archName);
  if (arch === undefined)
    throw new ConfigError(`architecture "${archName}" is not one btfmill publishes`, {
      hint: "use x86_64 (amd64) or arm64 (aarch64)",
    });
  const osReleaseFile = options.osReleaseFile ?? "/etc/os-release";
  let osReleaseText: string | undefined;
  try {
    osReleaseText = await readFile(osReleaseFile, "utf8");
  } catch (cause) {
    if (options.osReleaseFile !== undefined)
      throw new ConfigError(`cannot read ${osReleaseFile}: ${(cause as Error).message}`, { cause });
  }
  const osRelease = osReleaseText === undefined ? undefined : parseOsRelease(osReleaseText);
  const kernel = options.kernel ?? unameRelease();
  const query = { osRelease, kernel, arch, set: options.set };
  const site = openSite(options.from);
  const reader = await openSiteManifest(site, { publicKey: options.publicKey, signal: options.signal });
  // The os-release's own source first: one part, and no index, when the kernel is there.
  const own =
    osRelease?.versionId === undefined
      ? []
      : await reader.kernels(
          matchSources({ distro: osRelease.id, release: osRelease.versionId, arch }),
          options.signal,
        );
  const direct = lookupKernel({ kernels: own }, undefined, query);
  if (direct.status !== "unknown") return withUrl(site, direct);
  // Else the sources the reverse index lists for this uname -r on this arch.
  const unameIndex = await readUnameIndex(site, reader.root, options.signal);
  const candidates = new Set(
    (unameIndex.kernels[kernel] ?? []).map((candidate) => candidate.key.split("/").slice(0, 3).join("/")),
  );
  const elsewhere = await reader.kernels(
    (source) => source.arch === arch && candidates.has(`${source.distro}/${source.release}/${source.arch}`),
    options.signal,
  );
  return withUrl(site, lookupKernel({ kernels: elsewhere }, unameIndex, query));
}

function withUrl(site: SiteSource, result: LookupResult): HostLookupResult {
  return result.status === "found" ? { ...result, url: site.locate(result.file.path) } : result;
}
