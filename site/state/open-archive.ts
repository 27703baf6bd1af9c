// Opens the archive a command works on: the local folder's manifest, and with `--state` the
// published site's entries for every kernel and source the folder does not know yet.
import { readManifest, type Manifest } from "../../archive/manifest.ts";
import { localArchiveFiles, stateArchiveFiles, type ArchiveFiles } from "./archive-files.ts";
import { openState, type StateOptions } from "./state-site.ts";

export interface OpenArchive {
  manifest: Manifest;
  files: ArchiveFiles;
  /** How many kernel entries came from the state site. */
  seeded: number;
}

/**
 * When a command starts: the folder's own entries win over the site's, since the folder is where
 * this machine's newer results are (a resumed run, a shard's output).
 */
export function seedFromState(local: Manifest, state: Manifest): { manifest: Manifest; seeded: number } {
  const kernels = { ...local.kernels };
  let seeded = 0;
  for (const [kernel, entry] of Object.entries(state.kernels)) {
    if (kernels[kernel] !== undefined) continue;
    kernels[kernel] = entry;
    seeded += 1;
  }
  const sources = { ...state.sources, ...local.sources };
  // biome-ignore lint/complexity/useMathMinMax: ISO dates are strings, which Math.max does not compare
  const updatedAt = local.updatedAt > state.updatedAt ? local.updatedAt : state.updatedAt;
  return { manifest: { ...local, updatedAt, sources, kernels }, seeded };
}

/** When run, plan, merge or publish opens its archive folder. */
export async function openArchive(
  root: string,
  state: StateOptions | undefined,
  signal?: AbortSignal,
): Promise<OpenArchive> {
  const local = await readManifest(root);
  if (state === undefined) return { manifest: local, files: localArchiveFiles(root), seeded: 0 };
  const site = await openState(state, signal);
  const { manifest, seeded } = seedFromState(local, site.manifest);
  return { manifest, files: stateArchiveFiles(root, site), seeded };
}
