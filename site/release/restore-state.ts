// After a restore of some sources, the manifest keeps only those sources' entries, so it names no
// file the folder lacks: a shard's run then takes every other kernel from `--state` (the site),
// and its archive merges back without claiming kernels it never had.
import { sourceId } from "../../archive/kernel-key.ts";
import { readManifest, writeManifest } from "../../archive/state.ts";

/** When a filtered restore is done: drops the manifest's entries and sources that `keep` refuses. */
export async function keepSources(archive: string, keep: (source: string) => boolean): Promise<void> {
  const manifest = await readManifest(archive);
  await writeManifest(archive, {
    ...manifest,
    sources: Object.fromEntries(Object.entries(manifest.sources).filter(([source]) => keep(source))),
    kernels: Object.fromEntries(Object.entries(manifest.kernels).filter(([, entry]) => keep(sourceId(entry.key)))),
  });
}
