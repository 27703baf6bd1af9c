// Opens the archive a command works on: the local folder's state, and with `--state` the published
// site's as its seed: each part the command loads takes the site's entries for the kernels the
// folder does not know yet, and only those parts are fetched.
import { openArchiveState, type ArchiveState } from "../../archive/state.ts";
import { localArchiveFiles, stateArchiveFiles, type ArchiveFiles } from "./archive-files.ts";
import { openState, type StateOptions } from "./state-site.ts";

export interface OpenArchive {
  state: ArchiveState;
  files: ArchiveFiles;
}

/** When run, plan, merge or publish opens its archive folder; no part is read yet. */
export async function openArchive(
  root: string,
  state: StateOptions | undefined,
  signal?: AbortSignal,
): Promise<OpenArchive> {
  if (state === undefined) return { state: await openArchiveState(root), files: localArchiveFiles(root) };
  const site = await openState(state, signal);
  return { state: await openArchiveState(root, { seed: site.store }), files: stateArchiveFiles(root, site) };
}
