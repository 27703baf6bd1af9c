// Releases saved before the archive was split by source hold one `btf-archive.tar.zst` (a tar of
// the `btf-archive/` folder, zstd-compressed) and no index. A restore that finds only that asset
// takes the parts it needs from it, so the first save after the change carries the whole archive
// over (and then deletes the old asset, which its index does not name).
import { createWriteStream } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { execa } from "execa";
import { type ArchivePart, archiveParts } from "./archive-parts.ts";
import type { GitHubReleases, ReleaseAsset } from "./github-releases.ts";

export const legacyAssetName = "btf-archive.tar.zst";

/** When a release has no index but the single-asset archive: restores the parts `wanted` selects from it. */
export async function restoreLegacy(
  releases: GitHubReleases,
  asset: ReleaseAsset,
  archive: string,
  scratch: string,
  wanted: (part: ArchivePart) => boolean,
): Promise<ArchivePart[]> {
  const file = join(scratch, asset.name);
  await pipeline(await releases.download(asset), createWriteStream(file));
  const unpacked = join(scratch, "legacy");
  await mkdir(unpacked);
  await execa("tar", ["--zstd", "-xf", file, "-C", unpacked]);
  const root = join(unpacked, "btf-archive");
  const parts = (await archiveParts(root)).filter(wanted);
  // A minified file several sources share is in each of their parts, and moved once.
  const moved = new Set<string>();
  for (const part of parts) {
    for (const { path } of part.files) {
      if (moved.has(path)) continue;
      moved.add(path);
      await mkdir(dirname(join(archive, path)), { recursive: true });
      await rename(join(root, path), join(archive, path));
    }
  }
  return parts;
}
