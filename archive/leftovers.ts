// What a killed run leaves in the archive: its scratch folder (a vmlinux of hundreds of MB per
// kernel in flight) and the hidden temp files of writes it never renamed. Neither is ever named by
// the manifest, but both pile up run after run, so the next run clears them before it starts.
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { isTempName } from "./atomic-write.ts";
import { scratchDir } from "./layout.ts";

/** When a run opens the archive, before any work: removes scratch space and unfinished writes. */
export async function removeLeftovers(archiveRoot: string): Promise<void> {
  await rm(scratchDir(archiveRoot), { recursive: true, force: true });
  const entries = await readdir(archiveRoot, { recursive: true, withFileTypes: true });
  await Promise.all(
    entries
      .filter((entry) => entry.isFile() && isTempName(entry.name))
      .map((entry) => rm(join(entry.parentPath, entry.name), { force: true })),
  );
}
