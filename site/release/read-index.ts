// The index a save or restore goes by: the newest generation on the release. An older one is
// left only by a save that died between uploading the new index and deleting the old.
import type { Readable } from "node:stream";
import { FetchError } from "../../archive/errors.ts";
import type { GitHubReleases, ReleaseAsset } from "./github-releases.ts";
import { indexGeneration, parseReleaseIndex, type ReleaseIndex } from "./release-index.ts";

// An index of 10,000 kernels' sources is a few hundred KB; anything far larger is not one.
const maxIndexBytes = 64 * 1024 * 1024;

export interface NewestIndex {
  asset: ReleaseAsset;
  index: ReleaseIndex;
}

/** When a save or restore has listed the release: its newest index, or undefined when it has none. */
export async function readNewestIndex(
  releases: GitHubReleases,
  assets: ReleaseAsset[],
): Promise<NewestIndex | undefined> {
  let newest: { asset: ReleaseAsset; generation: number } | undefined;
  for (const asset of assets) {
    const generation = indexGeneration(asset.name);
    if (generation !== undefined && asset.state === "uploaded" && generation > (newest?.generation ?? 0)) {
      newest = { asset, generation };
    }
  }
  if (newest === undefined) return undefined;
  const text = await readText(await releases.download(newest.asset), newest.asset.name);
  return { asset: newest.asset, index: parseReleaseIndex(text, newest.asset.name) };
}

async function readText(body: Readable, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxIndexBytes) {
      body.destroy();
      throw new FetchError(`release asset ${name} is over ${maxIndexBytes} bytes: not an index btfmill wrote`, {
        package: name,
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
