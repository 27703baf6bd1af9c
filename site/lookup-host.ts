// Lookup as a program calls it: reads the host's facts (os-release, uname -r, arch) unless told
// otherwise, then the site's manifest and reverse index, and answers with the file's URL.
import { readFile } from "node:fs/promises";
import { arch as nodeArch, release as unameRelease } from "node:os";
import { ConfigError } from "../archive/errors.ts";
import { normalizeArch } from "./arch.ts";
import { lookupKernel, type LookupResult } from "./lookup.ts";
import { parseOsRelease } from "./os-release.ts";
import { readSiteManifest, readUnameIndex } from "./read-manifest.ts";
import { openSite } from "./site-source.ts";

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
  const site = openSite(options.from);
  const manifest = await readSiteManifest(site, { publicKey: options.publicKey, signal: options.signal });
  const unameIndex = await readUnameIndex(site, manifest, options.signal);
  const result = lookupKernel(manifest, unameIndex, {
    osRelease: osReleaseText === undefined ? undefined : parseOsRelease(osReleaseText),
    kernel: options.kernel ?? unameRelease(),
    arch,
    set: options.set,
  });
  return result.status === "found" ? { ...result, url: site.locate(result.file.path) } : result;
}
