// `btfmill release save`: the archive to the release as one asset per source (pieces when over
// the asset limit) plus the state part, uploading only what changed since the index on the
// release, then the new index, then deleting what it no longer names.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import { digestFile } from "../../archive/file-digest.ts";
import { ConfigError, IntegrityError } from "../../archive/errors.ts";
import { type ArchivePart, archiveParts, statePartId } from "./archive-parts.ts";
import type { GitHubReleases, ReleaseAsset, ReleaseRef } from "./github-releases.ts";
import { digestPart, isCompressed, partStream, sliceStream } from "./part-tar.ts";
import { splitByPresence } from "./keep-absent.ts";
import { readNewestIndex } from "./read-index.ts";
import {
  type IndexPart,
  type ReleaseIndex,
  indexAssetName,
  indexGeneration,
  partAssetName,
  releaseIndexSchemaId,
  releaseIndexSchemaVersion,
} from "./release-index.ts";

/** GitHub refuses release assets of 2 GiB and more. */
export const githubMaxAssetBytes = 2 ** 31 - 1;

export interface SaveOptions {
  archive: string;
  tag: string;
  releases: GitHubReleases;
  maxAssetBytes: number;
  /** Let sources the release holds but the archive lacks go; otherwise such a save is refused. */
  dropMissing?: boolean;
  /** Keep the assets of sources whose files the archive lacks (restored in part): see keep-absent.ts. */
  keepAbsent?: boolean;
  now?: Date;
}

export interface SaveResult {
  release: { id: number; tag: string };
  generation: number;
  parts: { id: string; size: number; files: number; assets: number; uploaded: boolean }[];
  uploaded: { name: string; size: number }[];
  uploadedBytes: number;
  /** Assets the previous index named that this save kept as they were. */
  kept: number;
  /** With keepAbsent: the sources whose files the archive lacked, their assets kept. */
  keptAbsent: string[];
  deleted: string[];
}

/** When the scheduled run has merged and published: saves the archive to the release. */
export async function saveToRelease(options: SaveOptions): Promise<SaveResult> {
  const { releases, archive } = options;
  const release =
    (await releases.findRelease(options.tag)) ??
    (await releases.createRelease(
      options.tag,
      "btfmill archive",
      "BTFHub's full <kernel>.btf.tar.xz forms and btfmill's manifest, one asset per source: see btfmill-index.<n>.json.",
    ));
  let assets = await releases.listAssets(release);
  const previous = await readNewestIndex(releases, assets);
  let parts = await archiveParts(archive);
  let absent: IndexPart[] = [];
  if (options.keepAbsent === true && previous !== undefined) {
    ({ save: parts, keep: absent } = await splitByPresence(archive, parts, previous.index));
  }
  const missing = (previous?.index.parts ?? [])
    .map((part) => part.id)
    .filter((id) => !parts.some((part) => part.id === id) && !absent.some((part) => part.id === id));
  if (missing.length > 0 && options.dropMissing !== true) {
    throw new ConfigError(
      `${archive} lacks source(s) the release holds: ${missing.join(", ")}; saving it would delete their assets`,
      {
        hint: "save from the whole archive (btfmill release restore without filters), or pass --drop-missing to remove those sources",
      },
    );
  }
  const fromFolder: IndexPart[] = [];
  for (const part of parts) fromFolder.push(await describePart(archive, part, options.maxAssetBytes));
  const vouched = new Set(previous?.index.parts.flatMap((part) => part.assets.map(assetKey)) ?? []);
  for (const part of absent) {
    for (const asset of part.assets) {
      const present = assets.find((each) => each.name === asset.name);
      if (present?.state !== "uploaded" || present.size !== asset.size) {
        throw new IntegrityError(`the release index names ${asset.name} (part ${part.id}), but the release lacks it`, {
          package: asset.name,
          hint: `restore ${part.id} (btfmill release restore --source ${part.id}) if its asset is elsewhere, else save without --keep-absent from a complete archive`,
        });
      }
    }
  }
  // Sources in order, the state part last, as a save from the whole archive writes them.
  const indexParts = [...fromFolder.filter((part) => part.id !== statePartId), ...absent].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  indexParts.push(...fromFolder.filter((part) => part.id === statePartId));
  const uploaded: SaveResult["uploaded"] = [];
  let kept = absent.reduce((n, part) => n + part.assets.length, 0);
  for (const [p, part] of parts.entries()) {
    const described = fromFolder[p]!;
    for (const [piece, asset] of described.assets.entries()) {
      const present = assets.find((each) => each.name === asset.name);
      if (present?.state === "uploaded" && present.size === asset.size && vouched.has(assetKey(asset))) {
        kept++;
        continue;
      }
      // An asset under that name no index vouches for is a broken save's leftover.
      if (present !== undefined) await releases.deleteAsset(present);
      await uploadPiece(options, release, part, piece, asset);
      uploaded.push({ name: asset.name, size: asset.size });
    }
  }
  const generation = Math.max(0, ...assets.flatMap((asset) => indexGeneration(asset.name) ?? [])) + 1;
  const index: ReleaseIndex = {
    schema: releaseIndexSchemaId,
    schemaVersion: releaseIndexSchemaVersion,
    generation,
    savedAt: (options.now ?? new Date()).toISOString(),
    maxAssetBytes: options.maxAssetBytes,
    parts: indexParts,
    state: await stateFiles(archive, parts),
  };
  const indexName = indexAssetName(generation);
  const bytes = Buffer.from(`${JSON.stringify(index, null, 2)}\n`);
  await releases.upload(release, indexName, bytes.length, () => Readable.from([bytes]));
  uploaded.push({ name: indexName, size: bytes.length });
  // Only now may what the new index does not name go: older indexes first, so none names a deleted asset.
  const named = new Set([indexName, ...indexParts.flatMap((part) => part.assets.map((asset) => asset.name))]);
  assets = await releases.listAssets(release);
  const stale = assets
    .filter((asset) => !named.has(asset.name))
    .sort((a, b) => Number(isIndex(b)) - Number(isIndex(a)));
  for (const asset of stale) await releases.deleteAsset(asset);
  return {
    release: { id: release.id, tag: release.tag },
    generation,
    parts: indexParts.map((part) => ({
      id: part.id,
      size: part.size,
      files: part.files,
      assets: part.assets.length,
      uploaded: part.assets.some((asset) => uploaded.some((each) => each.name === asset.name)),
    })),
    uploaded,
    uploadedBytes: uploaded.reduce((n, asset) => n + asset.size, 0),
    kept,
    keptAbsent: absent.map((part) => part.id),
    deleted: stale.map((asset) => asset.name),
  };
}

function assetKey(asset: { name: string; sha256: string }): string {
  return `${asset.name} ${asset.sha256}`;
}

function isIndex(asset: ReleaseAsset): boolean {
  return indexGeneration(asset.name) !== undefined;
}

async function describePart(root: string, part: ArchivePart, maxAssetBytes: number): Promise<IndexPart> {
  const digest = await digestPart(root, part, maxAssetBytes);
  return {
    id: part.id,
    sha256: digest.sha256,
    size: digest.size,
    files: part.files.length,
    compression: isCompressed(part) ? "gzip" : "none",
    assets: digest.pieces.map((piece, i) => ({
      name: partAssetName({ id: part.id, sha256: digest.sha256 }, i, digest.pieces.length),
      ...piece,
    })),
  };
}

// The piece is made again from the archive; hashed as it goes up, so an archive changed since it
// was digested is caught (and its asset removed) rather than saved under another part's hash.
async function uploadPiece(
  options: SaveOptions,
  release: ReleaseRef,
  part: ArchivePart,
  piece: number,
  asset: { name: string; sha256: string; size: number },
): Promise<void> {
  let hash = createHash("sha256");
  const open = (): Readable => {
    const sent = createHash("sha256");
    hash = sent;
    const bytes = sliceStream(partStream(options.archive, part), piece * options.maxAssetBytes, asset.size);
    return Readable.from(
      (async function* () {
        for await (const chunk of bytes as AsyncIterable<Buffer>) {
          sent.update(chunk);
          yield chunk;
        }
      })(),
      { objectMode: false },
    );
  };
  const made = await options.releases.upload(release, asset.name, asset.size, open);
  const sent = hash.digest("hex");
  if (sent !== asset.sha256) {
    await options.releases.deleteAsset(made);
    throw new IntegrityError(
      `the archive changed while ${asset.name} was saved (sha256 ${sent}, was ${asset.sha256})`,
      {
        package: asset.name,
        hint: "run btfmill release save again once nothing writes to the archive",
      },
    );
  }
}

async function stateFiles(root: string, parts: ArchivePart[]): Promise<ReleaseIndex["state"]> {
  const state = parts.find((part) => part.id === statePartId)?.files ?? [];
  const files: ReleaseIndex["state"] = [];
  for (const file of state) files.push({ path: file.path, ...(await digestFile(join(root, file.path))) });
  return files;
}
