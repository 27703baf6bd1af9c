// A consumer's first step: the site's manifest, checked against its schema and, when the
// consumer holds the publisher's public key, against the Ed25519 signature beside it. Every
// sha256 a consumer then trusts comes from these bytes.
import { readFile } from "node:fs/promises";
import { IntegrityError } from "../archive/errors.ts";
import { parseJson } from "../archive/parse-json.ts";
import { cdnManifestName, signatureName } from "./cdn-layout.ts";
import { cdnManifestSchema, type CdnManifest, type UnameIndex } from "./cdn-manifest.ts";
import { verifyManifest } from "./publish-signature.ts";
import type { SiteSource } from "./site-source.ts";
import { sha256Hex } from "../archive/file-digest.ts";

const maxManifestBytes = 256 * 1024 * 1024;

export interface ReadManifestOptions {
  /** PEM file of the publisher's Ed25519 public key: the manifest must carry a valid signature. */
  publicKey?: string;
  signal?: AbortSignal;
}

/** When pull or lookup starts: the verified manifest of `site`. */
export async function readSiteManifest(site: SiteSource, options: ReadManifestOptions = {}): Promise<CdnManifest> {
  const bytes = await site.read(cdnManifestName, maxManifestBytes, options.signal);
  if (options.publicKey !== undefined) {
    const signature = await site.readOptional(signatureName, 4096, options.signal);
    if (signature === undefined) {
      throw new IntegrityError(`${site.locate(cdnManifestName)} is not signed (no ${signatureName})`, {
        package: site.origin,
        hint: "the site was published without --key, or the signature was removed: do not trust it",
      });
    }
    if (!verifyManifest(bytes, signature.toString("utf8"), await readFile(options.publicKey, "utf8"))) {
      throw new IntegrityError(
        `the signature of ${site.locate(cdnManifestName)} does not verify with ${options.publicKey}`,
        {
          package: site.origin,
          hint: "the manifest was altered, or it was signed with another key",
        },
      );
    }
  }
  return parseJson(cdnManifestSchema, bytes.toString("utf8"), {
    where: site.locate(cdnManifestName),
    misfit: "is not a btfmill CDN manifest",
    problems: 3,
    context: { package: site.origin, hint: "is --from the root of a site made by btfmill publish?" },
  });
}

/** When a lookup falls back on uname -r alone: the reverse index the manifest names, checked by its sha256. */
export async function readUnameIndex(
  site: SiteSource,
  manifest: CdnManifest,
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
