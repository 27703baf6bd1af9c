// `btfmill release restore`: the archive back from the release, only the parts asked for (a
// shard: its sources; publish: all) and always the state part. Every asset is downloaded whole
// into scratch space and checked against the index's sha256 before a byte of it reaches the
// archive; a broken or refused download starts over next time, nothing partial is kept.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import pLimit from "p-limit";
import tar from "tar-stream";
import { writeAtomically } from "../../archive/atomic-write.ts";
import { FetchError, FormatError, IntegrityError } from "../../archive/errors.ts";
import { scratchDir } from "../../archive/layout.ts";
import { belongsToPart, statePartId } from "./archive-parts.ts";
import type { GitHubReleases, ReleaseAsset } from "./github-releases.ts";
import { concatenated } from "./part-tar.ts";
import { readNewestIndex } from "./read-index.ts";
import type { IndexAsset, IndexPart } from "./release-index.ts";
import { legacyAssetName, restoreLegacy } from "./legacy-archive.ts";
import { keepSources } from "./restore-state.ts";

export interface SourceFilter {
  distro?: string | undefined;
  release?: string | undefined;
  arch?: string | undefined;
  /**
   * Exactly these sources (`<distro>/<release>/<arch>`), with the whole state kept: the sources a
   * night changes, restored so a save with keepAbsent carries the others over untouched.
   */
  sources?: string[] | undefined;
}

export interface RestoreOptions {
  archive: string;
  tag: string;
  releases: GitHubReleases;
  filter: SourceFilter;
}

export interface RestoreResult {
  /** Undefined when the repository has no such release (the first run). */
  release: { id: number; tag: string } | undefined;
  /** The index restored from: 0 for the single-asset archive of before, undefined when the release holds neither. */
  generation: number | undefined;
  parts: { id: string; size: number; files: number; assets: number }[];
  downloadedBytes: number;
}

/** When a job starts from the saved archive: restores the parts it needs into `archive`. */
export async function restoreFromRelease(options: RestoreOptions): Promise<RestoreResult> {
  const { releases, archive } = options;
  await mkdir(archive, { recursive: true });
  const release = await releases.findRelease(options.tag);
  if (release === undefined) return { release, generation: undefined, parts: [], downloadedBytes: 0 };
  const assets = await releases.listAssets(release);
  const newest = await readNewestIndex(releases, assets);
  const ref = { id: release.id, tag: release.tag };
  const legacy = assets.find((asset) => asset.name === legacyAssetName && asset.state === "uploaded");
  if (newest === undefined && legacy === undefined) {
    return { release: ref, generation: undefined, parts: [], downloadedBytes: 0 };
  }
  const { sources } = options.filter;
  const wanted = (id: string) =>
    id === statePartId || (sources === undefined ? matches(id, options.filter) : sources.includes(id));
  await mkdir(scratchDir(archive), { recursive: true });
  const scratch = await mkdtemp(join(scratchDir(archive), "restore-"));
  let result: RestoreResult;
  try {
    if (newest === undefined) {
      const parts = await restoreLegacy(releases, legacy!, archive, scratch, (part) => wanted(part.id));
      result = {
        release: ref,
        generation: 0,
        parts: parts.map((part) => ({
          id: part.id,
          size: part.files.reduce((n, file) => n + file.size, 0),
          files: part.files.length,
          assets: 1,
        })),
        downloadedBytes: legacy!.size,
      };
    } else {
      const parts = newest.index.parts.filter((part) => wanted(part.id));
      const byName = new Map(assets.map((asset) => [asset.name, asset]));
      const limit = pLimit(4);
      await Promise.all(parts.map((part) => limit(() => restorePart(releases, archive, scratch, part, byName))));
      result = {
        release: ref,
        generation: newest.index.generation,
        parts: parts.map((part) => ({ id: part.id, size: part.size, files: part.files, assets: part.assets.length })),
        downloadedBytes: parts.reduce((n, part) => n + part.size, 0),
      };
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  // A restore by source keeps every source's state: the kernels of the rest stay known, their files on the release.
  const filtered = options.filter.distro ?? options.filter.release ?? options.filter.arch;
  if (filtered !== undefined && sources === undefined) await keepSources(archive, (source) => wanted(source));
  return result;
}

function matches(id: string, filter: SourceFilter): boolean {
  const [distro, release, arch] = id.split("/");
  return (
    (filter.distro === undefined || filter.distro === distro) &&
    (filter.release === undefined || filter.release === release) &&
    (filter.arch === undefined || filter.arch === arch)
  );
}

async function restorePart(
  releases: GitHubReleases,
  archive: string,
  scratch: string,
  part: IndexPart,
  byName: Map<string, ReleaseAsset>,
): Promise<void> {
  const pieces: string[] = [];
  for (const asset of part.assets) {
    const present = byName.get(asset.name);
    if (present === undefined) {
      throw new FetchError(`the release index names ${asset.name} (part ${part.id}), but the release lacks it`, {
        package: asset.name,
        hint: "save the archive again (btfmill release save) from a complete archive",
      });
    }
    const file = join(scratch, asset.name);
    await download(releases, present, asset, file);
    pieces.push(file);
  }
  const tarBytes = concatenated(pieces.map((file) => () => createReadStream(file)));
  const extract = extractInto(archive, part);
  if (part.compression === "gzip") await pipeline(tarBytes, createGunzip(), extract);
  else await pipeline(tarBytes, extract);
}

async function download(releases: GitHubReleases, present: ReleaseAsset, asset: IndexAsset, file: string) {
  const hash = createHash("sha256");
  let size = 0;
  const body = await releases.download(present);
  try {
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(file),
    );
  } catch (cause) {
    throw new FetchError(
      `downloading release asset ${asset.name} broke after ${size} bytes: ${(cause as Error).message}`,
      {
        package: asset.name,
        cause,
        hint: "run the restore again: it starts every asset over",
      },
    );
  }
  const sha256 = hash.digest("hex");
  if (sha256 !== asset.sha256 || size !== asset.size) {
    throw new IntegrityError(
      `release asset ${asset.name} has sha256 ${sha256} (${size} bytes), the release index says ${asset.sha256} (${asset.size} bytes)`,
      { package: asset.name, hint: "the asset was changed or cut short: save the archive again from a good copy" },
    );
  }
}

// Each file goes to its place atomically; a member outside the part's own paths is refused.
function extractInto(archive: string, part: IndexPart) {
  const extract = tar.extract();
  extract.on("entry", (header, stream, next) => {
    if (header.type !== "file" || !belongsToPart(part.id, header.name)) {
      stream.resume();
      extract.destroy(
        new FormatError(`part ${part.id} holds ${header.name} (${header.type}), which is not among its files`, {
          package: part.assets[0]?.name,
          hint: "the release's assets were not written by btfmill release save",
        }),
      );
      return;
    }
    const target = join(archive, header.name);
    mkdir(dirname(target), { recursive: true })
      .then(() => writeAtomically(target, (temp) => pipeline(stream, createWriteStream(temp)), { durable: false }))
      .then(
        () => next(),
        (error: unknown) => extract.destroy(error as Error),
      );
  });
  return extract;
}
