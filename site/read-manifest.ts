// A consumer's first step: the site's manifest root, checked against its schema and, when the
// consumer holds the publisher's public key, against the Ed25519 signature beside it; then the
// parts of the sources the consumer wants, each checked against the sha256 the root gives. Every
// sha256 a consumer then trusts comes from these bytes. A v1 site (one manifest with every
// kernel, published before the parts) reads the same way.
import { readFile } from "node:fs/promises";
import pLimit from "p-limit";
import { IntegrityError } from "../archive/errors.ts";
import { sha256Hex } from "../archive/file-digest.ts";
import type { Arch } from "../archive/kernel-key.ts";
import { parseJson } from "../archive/parse-json.ts";
import { cdnManifestName, signatureName } from "./cdn-layout.ts";
import {
  cdnAnyRootSchema,
  cdnPartSchema,
  type CdnKernel,
  type CdnManifest,
  type CdnPartRef,
  type UnameIndex,
} from "./cdn-manifest.ts";
import { verifyManifest } from "./publish-signature.ts";
import type { SiteSource } from "./site-source.ts";

const maxManifestBytes = 256 * 1024 * 1024;

/** One source of the site, `<distro>/<release>/<arch>`. */
export interface SourceKey {
  distro: string;
  release: string;
  arch: Arch;
}

/** Which sources' kernels a consumer wants. */
export type SourceFilter = (source: SourceKey) => boolean;

/** When a command narrows by --distro/--release/--arch: the filter that keeps what each given one names. */
export function matchSources(wanted: {
  distro?: string | undefined;
  release?: string | undefined;
  arch?: Arch | undefined;
}): SourceFilter {
  return (source) =>
    (wanted.distro === undefined || source.distro === wanted.distro) &&
    (wanted.release === undefined || source.release === wanted.release) &&
    (wanted.arch === undefined || source.arch === wanted.arch);
}

export interface ReadManifestOptions {
  /** PEM file of the publisher's Ed25519 public key: the manifest must carry a valid signature. */
  publicKey?: string | undefined;
  /** Only these sources' kernels (and parts); all of them when absent. */
  sources?: SourceFilter | undefined;
  signal?: AbortSignal | undefined;
}

/** A verified root, and its parts read on demand. */
export interface SiteManifestReader {
  /** The root: everything the site says but the kernels. */
  root: Omit<CdnManifest, "kernels">;
  /** The kernels of the sources `sources` keeps (all when absent), sorted by key; each part is fetched and checked once. */
  kernels(sources?: SourceFilter, signal?: AbortSignal): Promise<CdnKernel[]>;
}

/** When pull or lookup starts: the verified root of `site`, from which it reads the parts it needs. */
export async function openSiteManifest(
  site: SiteSource,
  options: Omit<ReadManifestOptions, "sources"> = {},
): Promise<SiteManifestReader> {
  const bytes = await site.read(cdnManifestName, maxManifestBytes, options.signal);
  if (options.publicKey !== undefined) await checkSignature(site, bytes, options.publicKey, options.signal);
  const manifest = parseJson(cdnAnyRootSchema, bytes.toString("utf8"), {
    where: site.locate(cdnManifestName),
    misfit: "is not a btfmill CDN manifest",
    problems: 3,
    context: { package: site.origin, hint: "is --from the root of a site made by btfmill publish?" },
  });
  if (manifest.schemaVersion === 1) {
    const { kernels: all, ...root } = manifest;
    return {
      root: { ...root, parts: [] },
      kernels: async (sources) => (sources === undefined ? all : all.filter((kernel) => sources(kernel))),
    };
  }
  const read = new Map<string, Promise<CdnKernel[]>>();
  const fetching = pLimit(8);
  return {
    root: manifest,
    async kernels(sources, signal) {
      const wanted = manifest.parts.filter((part) => sources === undefined || sources(part));
      const each = await Promise.all(
        wanted.map((part) => {
          let kernels = read.get(part.path);
          if (kernels === undefined) {
            kernels = fetching(() => readPart(site, part, signal ?? options.signal));
            read.set(part.path, kernels);
          }
          return kernels;
        }),
      );
      return each.flat().sort((a, b) => a.key.localeCompare(b.key));
    },
  };
}

/** When a consumer wants the root and the kernels of some sources (all by default) at once. */
export async function readSiteManifest(site: SiteSource, options: ReadManifestOptions = {}): Promise<CdnManifest> {
  const reader = await openSiteManifest(site, options);
  return { ...reader.root, kernels: await reader.kernels(options.sources, options.signal) };
}

async function checkSignature(site: SiteSource, bytes: Buffer, publicKey: string, signal?: AbortSignal): Promise<void> {
  const signature = await site.readOptional(signatureName, 4096, signal);
  if (signature === undefined) {
    throw new IntegrityError(`${site.locate(cdnManifestName)} is not signed (no ${signatureName})`, {
      package: site.origin,
      hint: "the site was published without --key, or the signature was removed: do not trust it",
    });
  }
  if (!verifyManifest(bytes, signature.toString("utf8"), await readFile(publicKey, "utf8"))) {
    throw new IntegrityError(`the signature of ${site.locate(cdnManifestName)} does not verify with ${publicKey}`, {
      package: site.origin,
      hint: "the manifest was altered, or it was signed with another key",
    });
  }
}

// The root vouches for the part's bytes; the part must then hold its own source's kernels only.
async function readPart(site: SiteSource, part: CdnPartRef, signal?: AbortSignal): Promise<CdnKernel[]> {
  const where = site.locate(part.path);
  const bytes = await site.read(part.path, maxManifestBytes, signal);
  const sha256 = sha256Hex(bytes);
  if (sha256 !== part.sha256 || bytes.length !== part.size) {
    throw new IntegrityError(
      `manifest part ${part.path} (${where}) has sha256 ${sha256} (${bytes.length} bytes), the manifest root says ${part.sha256} (${part.size})`,
      {
        package: where,
        hint: "the site is being republished or the part was altered: retry later; nothing was replaced",
      },
    );
  }
  const parsed = parseJson(cdnPartSchema, bytes.toString("utf8"), {
    where,
    misfit: "is not a btfmill CDN manifest part",
    problems: 3,
    context: { package: site.origin, hint: "republish the site with btfmill publish" },
  });
  const source = `${part.distro}/${part.release}/${part.arch}`;
  const stray = parsed.kernels.find((kernel) => `${kernel.distro}/${kernel.release}/${kernel.arch}` !== source);
  if (`${parsed.distro}/${parsed.release}/${parsed.arch}` !== source || stray !== undefined) {
    throw new IntegrityError(`manifest part ${part.path} holds ${stray?.key ?? "another source"}, not only ${source}`, {
      package: where,
      hint: "the site was not made by btfmill publish: do not trust it",
    });
  }
  return parsed.kernels;
}

/** When a lookup falls back on uname -r alone: the reverse index the manifest names, checked by its sha256. */
export async function readUnameIndex(
  site: SiteSource,
  manifest: Pick<CdnManifest, "unameIndex">,
  signal?: AbortSignal,
): Promise<UnameIndex> {
  const bytes = await site.read(manifest.unameIndex.path, 64 * 1024 * 1024, signal);
  if (sha256Hex(bytes) !== manifest.unameIndex.sha256) {
    throw new IntegrityError(`${site.locate(manifest.unameIndex.path)} does not match the sha256 in the manifest`, {
      package: site.origin,
      hint: "the site is being republished or was altered: retry",
    });
  }
  return JSON.parse(bytes.toString("utf8")) as UnameIndex;
}
