// How an archive folder divides into the parts saved as release assets: one part per source
// (`<distro>/<release>/<arch>/` with the minified files its kernels name), so a shard restores
// only its own, and one `state` part with everything else (the manifest), which every restore
// needs. Scratch space, caches and temp files (names starting with a dot) are not saved.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { isArch, sourceId } from "../../archive/kernel-key.ts";
import { readManifest } from "../../archive/state.ts";

/** The part every restore takes: the archive's state files. */
export const statePartId = "state";

const minifiedDir = "minified";

export interface PartFile {
  /** Relative to the archive root, `/`-separated. */
  path: string;
  size: number;
}

export interface ArchivePart {
  /** `debian/12/x86_64`, or `state`. */
  id: string;
  /** Sorted by path, so the same files always make the same bytes. */
  files: PartFile[];
}

/** When a save starts: the archive's parts, sources sorted, the state part last. */
export async function archiveParts(root: string): Promise<ArchivePart[]> {
  const files = await walk(root, "");
  const bySource = new Map<string, Set<PartFile>>();
  const state: PartFile[] = [];
  const minified = new Map<string, PartFile>();
  for (const file of files) {
    const [top, release, arch] = file.path.split("/");
    if (top === minifiedDir) minified.set(file.path, file);
    else if (file.path.split("/").length >= 4 && isArch(arch)) append(bySource, `${top}/${release}/${arch}`, file);
    else state.push(file);
  }
  // A minified file goes with each source whose kernels name it (content-addressed: kernels of
  // several sources may share one); one no kernel names is a leftover and is not saved.
  const manifest = await readManifest(root);
  for (const entry of Object.values(manifest.kernels)) {
    for (const record of Object.values(entry.minified ?? {})) {
      const file = record.file === undefined ? undefined : minified.get(record.file.path);
      if (file === undefined) continue;
      const source = sourceId(entry.key);
      append(bySource, source, file);
    }
  }
  const parts = [...bySource.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, list]) => ({ id, files: sortFiles(list) }));
  return [...parts, { id: statePartId, files: sortFiles(state) }];
}

/** Whether `path` (from a restored part's tar) belongs to part `id`: the guard against a tar writing elsewhere. */
export function belongsToPart(id: string, path: string): boolean {
  const segments = path.split("/");
  if (path.startsWith("/") || segments.some((segment) => segment === "" || segment === "." || segment === "..")) {
    return false;
  }
  if (segments.some((segment) => segment.startsWith("."))) return false;
  if (id === statePartId) return segments[0] !== minifiedDir && !(segments.length >= 4 && isArch(segments[2]));
  return path.startsWith(`${id}/`) || (segments[0] === minifiedDir && segments.length === 3);
}

function append(map: Map<string, Set<PartFile>>, id: string, file: PartFile): void {
  const files = map.get(id);
  if (files === undefined) map.set(id, new Set([file]));
  else files.add(file);
}

function sortFiles(files: Iterable<PartFile>): PartFile[] {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function walk(root: string, relative: string): Promise<PartFile[]> {
  const entries = await readdir(join(root, relative), { withFileTypes: true }).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === "ENOENT" && relative === "") return [];
    throw cause;
  });
  const files: PartFile[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await walk(root, path)));
    else if (entry.isFile()) files.push({ path, size: (await stat(join(root, path))).size });
  }
  return files;
}
