// A consumer's first step: the site's manifest, checked against its schema and, when the
// consumer holds the publisher's public key, against the Ed25519 signature beside it. Every
// sha256 a consumer then trusts comes from these bytes.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { FormatError, IntegrityError } from "../pipeline/errors.ts";
import { cdnManifestName, signatureName } from "./cdn-layout.ts";
import { cdnManifestSchema, type CdnManifest, type UnameIndex } from "./cdn-manifest.ts";
import { verifyManifest } from "./publish-signature.ts";
import type { SiteSource } from "./site-source.ts";

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
      throw new IntegrityError(`the signature of ${site.locate(cdnManifestName)} does not verify with ${options.publicKey}`, {
        package: site.origin,
        hint: "the manifest was altered, or it was signed with another key",
      });
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (cause) {
    throw new FormatError(`${site.locate(cdnManifestName)} is not JSON: ${(cause as Error).message}`, { package: site.origin, cause });
  }
  const result = cdnManifestSchema.safeParse(parsed);
  if (!result.success) {
    const first = result.error.issues.slice(0, 3).map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new FormatError(`${site.locate(cdnManifestName)} is not a btfmill CDN manifest: ${first.join("; ")}`, {
      package: site.origin,
      hint: "is --from the root of a site made by btfmill publish?",
    });
  }
  return result.data;
}

/** When a lookup falls back on uname -r alone: the reverse index the manifest names, checked by its sha256. */
export async function readUnameIndex(site: SiteSource, manifest: CdnManifest, signal?: AbortSignal): Promise<UnameIndex> {
  const bytes = await site.read(manifest.unameIndex.path, 64 * 1024 * 1024, signal);
  if (createHash("sha256").update(bytes).digest("hex") !== manifest.unameIndex.sha256) {
    throw new IntegrityError(`${site.locate(manifest.unameIndex.path)} does not match the sha256 in the manifest`, {
      package: site.origin,
      hint: "the site is being republished or was altered: retry",
    });
  }
  return JSON.parse(bytes.toString("utf8")) as UnameIndex;
}
