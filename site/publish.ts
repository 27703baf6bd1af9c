// `btfmill publish`: the static tree a CDN or any static host serves, built from the archive in a
// folder of its own and switched in atomically (publish-swap.ts).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import { writeManifest } from "../archive/state.ts";
import { openArchive } from "./state/open-archive.ts";
import type { StateOptions } from "./state/state-site.ts";
import {
  cdnManifestJsonSchema,
  cdnRootSchema,
  cdnSchemaId,
  cdnSchemaVersion,
  type CdnManifest,
  type CdnRoot,
} from "./cdn-manifest.ts";
import {
  archiveManifestName,
  cdnManifestName,
  cdnSchemaName,
  publicKeyName,
  signatureName,
  unameIndexName,
} from "./cdn-layout.ts";
import { writeBundles } from "./publish-bundles.ts";
import { placeFiles } from "./publish-files.ts";
import { writeJsonFile } from "./publish-json.ts";
import { writePage } from "./publish-page.ts";
import { writeParts } from "./publish-parts.ts";
import { planPublish } from "./publish-plan.ts";
import { checkPlannedSize, checkTreeSize, githubPagesMaxBytes, type SiteSize } from "./publish-size.ts";
import { loadSigningKey, signManifest } from "./publish-signature.ts";
import { discardGeneration, startGeneration, switchToGeneration } from "./publish-swap.ts";
import { buildUnameIndex } from "./publish-uname-index.ts";

export interface PublishOptions {
  /** The archive folder `btfmill run` writes. */
  archive: string;
  /** The symlink that names the current tree. */
  out: string;
  /** Also publish BTFHub's full `.btf.tar.xz` forms under `full/`. */
  full: boolean;
  /** PEM Ed25519 private key: sign manifest.json. */
  keyFile?: string | undefined;
  /** The site the archive's missing files are fetched from (`--state`). */
  state?: StateOptions | undefined;
  /** The host's limit on the whole site (default: GitHub Pages' 1 GB); past it nothing is switched in. */
  maxBytes?: number | undefined;
  now?: Date;
}

export interface PublishResult {
  /** The generation folder `out` now points at. */
  tree: string;
  /** The root as written, with every kernel its parts hold. */
  manifest: CdnManifest;
  size: SiteSize;
}

/** When the user runs `btfmill publish`: builds the tree and switches `out` to it. */
export async function publishSite(options: PublishOptions): Promise<PublishResult> {
  const signingKey = options.keyFile === undefined ? undefined : await loadSigningKey(options.keyFile);
  const { state, files } = await openArchive(options.archive, options.state);
  // The site lists every kernel: publish is the one command that loads every part.
  const archive = await state.loadAll();
  const plan = planPublish(archive, { full: options.full });
  const maxBytes = options.maxBytes ?? githubPagesMaxBytes;
  checkPlannedSize(plan, maxBytes);
  // Files the archive left on the state site come into the archive first, checked, then are placed like the rest.
  if (!files.complete) {
    const fetching = pLimit(8);
    // Once per archive file: a modules tarball is the source of many placements.
    const needed = new Map(
      plan.placements.map((placement) => [
        placement.from,
        {
          path: placement.from,
          sha256: (placement.extract ?? placement).sha256,
          size: (placement.extract ?? placement).size,
        },
      ]),
    );
    await Promise.all([...needed.values()].map((file) => fetching(() => files.materialize(file))));
  }
  const partial = await startGeneration(options.out);
  try {
    await placeFiles(options.archive, partial, plan.placements);
    // The archive state as `--state` reads it: the root, whose digest the signed manifest gives,
    // naming each source's part by sha256 at the same relative path as in the archive.
    const archiveRoot = await writeManifest(partial, archive, { rootName: archiveManifestName });
    // Full BTF is ~5 MB a kernel: no bundle of it, each file is fetched on its own.
    const bundles = await writeBundles(
      partial,
      plan.sets.filter((set) => set.form === "minified"),
      plan.kernels,
    );
    const unameIndex = await writeJsonFile(partial, unameIndexName, buildUnameIndex(plan.kernels));
    const parts = await writeParts(partial, plan.kernels);
    const root = cdnRootSchema.parse({
      schema: cdnSchemaId,
      schemaVersion: cdnSchemaVersion,
      generator: "btfmill",
      generatedAt: (options.now ?? new Date()).toISOString(),
      archiveUpdatedAt: archive.updatedAt,
      sources: plan.sources,
      sets: plan.sets,
      bundles,
      unameIndex: unameIndex.file,
      archiveManifest: { path: archiveManifestName, ...archiveRoot },
      parts,
    } satisfies CdnRoot);
    await writeJsonFile(partial, cdnSchemaName, cdnManifestJsonSchema());
    const { bytes } = await writeJsonFile(partial, cdnManifestName, root);
    if (signingKey) {
      const { signature, publicKeyPem } = signManifest(bytes, signingKey);
      await writeFile(join(partial, signatureName), signature);
      await writeFile(join(partial, publicKeyName), publicKeyPem);
    }
    await writePage(partial, [...new Set(plan.kernels.map((kernel) => kernel.distro))].sort());
    const size = await checkTreeSize(partial, plan, maxBytes);
    return { tree: await switchToGeneration(options.out, partial), manifest: { ...root, kernels: plan.kernels }, size };
  } catch (error) {
    await discardGeneration(partial);
    throw error;
  }
}
