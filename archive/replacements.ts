// A file the manifest names is replaced before the manifest can say so (a kernel's package
// changed, or merge brings a newer tarball): a kill in between leaves an entry whose sha256 the
// file no longer has. Each such replacement is noted first; the next run checks every note, and
// a file that does not match its entry is removed, so the plan sees it missing and redoes the kernel.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { digestFile, sha256Hex } from "./file-digest.ts";
import { pathExists } from "./file-listing.ts";
import type { ArchiveState } from "./state.ts";
import { sourceOfKernel } from "./state.ts";

function notesDir(archiveRoot: string): string {
  return join(archiveRoot, ".replacing");
}

/**
 * When a file the manifest may name is about to be written: notes its path if a file is there to
 * be replaced, so a new file costs nothing and the next run hashes only what was replaced.
 */
export async function noteReplacement(archiveRoot: string, path: string): Promise<void> {
  if (!(await pathExists(join(archiveRoot, path)))) return;
  await mkdir(notesDir(archiveRoot), { recursive: true });
  await writeFile(join(notesDir(archiveRoot), sha256Hex(path).slice(0, 32)), path);
}

/**
 * When a run or merge opens the archive: files replaced behind their entries are removed; returns
 * their paths. Only the parts of the sources the noted files belong to are loaded.
 */
export async function settleReplacements(
  archiveRoot: string,
  state: Pick<ArchiveState, "load" | "manifest">,
): Promise<string[]> {
  const notes = await readdir(notesDir(archiveRoot)).catch(() => [] as string[]);
  if (notes.length === 0) return [];
  const paths = await Promise.all(notes.map((note) => readFile(join(notesDir(archiveRoot), note), "utf8")));
  // Kernel files live at `<distro>/<release>/<arch>/<file>`; minified files are not in any one part.
  await state.load(new Set(paths.filter((path) => path.split("/").length === 4).map(sourceOfKernel)));
  const named = new Map<string, string>();
  for (const entry of Object.values(state.manifest.kernels)) {
    if (entry.tarball) named.set(entry.tarball.path, entry.tarball.sha256);
    if (entry.modules?.tarball) named.set(entry.modules.tarball.path, entry.modules.tarball.sha256);
  }
  const removed: string[] = [];
  for (const [index, note] of notes.entries()) {
    const notePath = join(notesDir(archiveRoot), note);
    const path = paths[index]!;
    const expected = named.get(path);
    const actual = await digestFile(join(archiveRoot, path)).catch(() => undefined);
    if (actual !== undefined && expected !== undefined && actual.sha256 !== expected) {
      await rm(join(archiveRoot, path), { force: true });
      removed.push(path);
    }
    await rm(notePath, { force: true });
  }
  return removed;
}
