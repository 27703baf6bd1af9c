// A save from an archive restored in part (`release restore --source`: the whole state, the files
// of the sources a night changes) keeps the assets of the sources whose files it lacks, so a night
// moves what it changed, not the archive. A source is saved from the folder only when the folder
// holds every file its kernels name; one that lacks files keeps its assets only if its state part
// is the one the release's state asset already holds, else the save would publish kernels whose
// files are nowhere: that is refused, naming the source to restore first.
import { ConfigError } from "../../archive/errors.ts";
import type { ManifestEntry } from "../../archive/manifest.ts";
import { localStateStore, readManifest, sourceOfKernel, stateDirName } from "../../archive/state.ts";
import { type ArchivePart, statePartId } from "./archive-parts.ts";
import type { IndexPart, ReleaseIndex } from "./release-index.ts";

export interface Presence {
  /** Parts made from the folder: complete sources, and the state part. */
  save: ArchivePart[];
  /** Parts of the previous index kept as they are: sources the folder lacks files of. */
  keep: IndexPart[];
}

/** When `release save --keep-absent` has the folder's parts and the release's index: what it saves and what it keeps. */
export async function splitByPresence(archive: string, parts: ArchivePart[], index: ReleaseIndex): Promise<Presence> {
  const store = await localStateStore(archive);
  const manifest = await readManifest(archive);
  const present = new Set(parts.flatMap((part) => part.files.map((file) => file.path)));
  const named = new Map<string, string[]>();
  for (const [kernel, entry] of Object.entries(manifest.kernels)) {
    const source = sourceOfKernel(kernel);
    named.set(source, [...(named.get(source) ?? []), ...filesOf(entry)]);
  }
  const savedState = new Set(index.state.map((file) => file.path));
  const unchanged = (source: string): boolean => {
    const ref = store.sources.get(source)?.part;
    if (ref !== undefined) return savedState.has(ref.path);
    return !index.state.some((file) => file.path.startsWith(`${stateDirName}/${source}/`));
  };
  const indexSources = index.parts.filter((part) => part.id !== statePartId);
  const unknown = indexSources.filter((part) => !store.sources.has(part.id)).map((part) => part.id);
  if (unknown.length > 0) {
    throw new ConfigError(`${archive}'s state lacks source(s) the release holds: ${unknown.join(", ")}`, {
      hint: "restore the whole state first (btfmill release restore --source ..., not --distro/--release/--arch)",
    });
  }
  const save: ArchivePart[] = [];
  const keep: IndexPart[] = [];
  const refused: string[] = [];
  const sources = new Set([...parts.map((part) => part.id), ...indexSources.map((part) => part.id)]);
  sources.delete(statePartId);
  for (const source of sources) {
    const local = parts.find((part) => part.id === source);
    const complete = (named.get(source) ?? []).every((path) => present.has(path));
    const saved = indexSources.find((part) => part.id === source);
    if (complete) {
      if (local !== undefined) save.push(local);
    } else if (saved !== undefined && unchanged(source)) keep.push(saved);
    else refused.push(source);
  }
  if (refused.length > 0) {
    throw new ConfigError(
      `${archive} lacks files of source(s) whose kernels changed since the release's index: ${refused.join(", ")}`,
      {
        hint: `restore those sources before the run or merge (btfmill release restore ${refused.map((source) => `--source ${source}`).join(" ")}), then save again`,
      },
    );
  }
  const state = parts.find((part) => part.id === statePartId);
  return { save: state === undefined ? save : [...save, state], keep };
}

function filesOf(entry: ManifestEntry): string[] {
  return [
    ...(entry.tarball ? [entry.tarball.path] : []),
    ...(entry.modules?.tarball ? [entry.modules.tarball.path] : []),
    ...Object.values(entry.minified ?? {}).flatMap((record) => (record.file ? [record.file.path] : [])),
  ];
}
