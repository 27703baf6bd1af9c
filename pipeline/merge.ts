// `btfmill merge`: shard results (each an archive folder) become one archive. Nothing is
// dropped: every kernel of every input has an entry in the result; for a kernel several inputs
// have, the choice is deterministic. The work goes source by source: that source's part of the
// output and of each input is loaded, merged, its files copied and checked against their sha256,
// the merged part written under its content's name (a part that comes out the same is not
// rewritten) and dropped, so memory follows the largest part, not the archive. The root naming
// the new parts is written once, last: a kill or a damaged input leaves the output's state as it was.
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { writeAtomically } from "../archive/atomic-write.ts";
import { noteReplacement, settleReplacements } from "../archive/replacements.ts";
import { pathExists } from "../archive/file-listing.ts";
import { digestFile } from "../archive/file-digest.ts";
import { manifestFileName } from "../archive/layout.ts";
import { openArchiveState, sourceOfKernel, type ArchiveState } from "../archive/state.ts";
import type { ArchiveFile, ManifestEntry, SourceState } from "../archive/manifest.ts";
import { ConfigError, IntegrityError } from "../archive/errors.ts";
import { openState, type StateOptions, type StateSite } from "../site/state/state-site.ts";

export interface MergeSummary {
  kernels: number;
  /** Kernels several inputs had, with the input whose entry was kept. */
  conflicts: { kernel: string; kept: string; over: string[] }[];
  filesCopied: number;
}

const statusRank: Record<ManifestEntry["status"], number> = { ok: 2, skipped: 1, failed: 0 };

// Better status first (a shard that converted a kernel beats one that failed it), then the later
// update; on a full tie the earlier input keeps it.
function better(candidate: ManifestEntry, held: ManifestEntry): boolean {
  const byStatus = statusRank[candidate.status] - statusRank[held.status];
  if (byStatus !== 0) return byStatus > 0;
  return candidate.updatedAt > held.updatedAt;
}

function mergeSource(candidate: SourceState, held: SourceState | undefined): SourceState {
  if (held === undefined) return candidate;
  const latest = candidate.checkedAt > held.checkedAt ? candidate : held;
  const refreshed = [candidate.refreshedAt, held.refreshedAt]
    .filter((at): at is string => at !== undefined)
    .sort()
    .at(-1);
  return { ...latest, ...(refreshed ? { refreshedAt: refreshed } : {}) };
}

function filesOf(entry: ManifestEntry): ArchiveFile[] {
  const minified = Object.values(entry.minified ?? {}).flatMap((record) => (record.file ? [record.file] : []));
  return [
    ...(entry.tarball ? [entry.tarball] : []),
    ...(entry.modules?.tarball ? [entry.modules.tarball] : []),
    ...minified,
  ];
}

/**
 * When the user runs `btfmill merge A B ... --out DIR`: DIR's archive (if any) first, then the inputs
 * in order. With `state`, inputs made by runs started from that site may lack files the site
 * publishes: those stay on the site, as in the inputs.
 */
export async function mergeArchives(
  inputs: string[],
  out: string,
  options: { state?: StateOptions } = {},
): Promise<MergeSummary> {
  if (inputs.length === 0) throw new ConfigError("merge needs at least one archive folder to merge");
  const outRoot = resolve(out);
  const output = await openArchiveState(outRoot);
  const archives: ArchiveState[] = [];
  if (await pathExists(join(outRoot, manifestFileName))) {
    await settleReplacements(outRoot, output);
    archives.push(output);
  }
  for (const input of inputs) archives.push(await openArchiveState(resolve(input)));
  const state: StateSite | undefined = options.state === undefined ? undefined : await openState(options.state);

  const summary: MergeSummary = { kernels: 0, conflicts: [], filesCopied: 0 };
  const sources = [...new Set(archives.flatMap((archive) => archive.sourceIds()))].sort();
  for (const source of sources) {
    await Promise.all([output.load([source]), state?.loadSources([source])]);
    const merged = await mergeSourceOf(source, archives, summary);
    for (const [kernel, { entry, from }] of merged.kernels) {
      if (from === output) continue;
      summary.filesCopied += await copyFiles(kernel, entry, from.root, outRoot, state);
      output.record(kernel, entry);
    }
    if (merged.state !== undefined) output.manifest.sources[source] = merged.state;
    summary.kernels += merged.kernels.size;
    await output.flush(source);
    for (const archive of archives) archive.release(source);
  }
  // biome-ignore lint/complexity/useMathMinMax: ISO dates are strings, which Math.max does not compare
  output.manifest.updatedAt = archives.map((archive) => archive.manifest.updatedAt).reduce((a, b) => (b > a ? b : a));
  await mkdir(outRoot, { recursive: true });
  await output.commit();
  summary.conflicts.sort((a, b) => a.kernel.localeCompare(b.kernel));
  return summary;
}

// One source's part of every archive, merged: the entry kept for each kernel with the archive it
// comes from, and the source's state. Kernels several archives have go into the summary's conflicts.
async function mergeSourceOf(
  source: string,
  archives: ArchiveState[],
  summary: MergeSummary,
): Promise<{ kernels: Map<string, { entry: ManifestEntry; from: ArchiveState }>; state: SourceState | undefined }> {
  const kernels = new Map<string, { entry: ManifestEntry; from: ArchiveState }>();
  const seenIn = new Map<string, string[]>();
  let state: SourceState | undefined;
  for (const archive of archives) {
    await archive.load([source]);
    const sourceState = archive.manifest.sources[source];
    if (sourceState !== undefined) state = mergeSource(sourceState, state);
    for (const [kernel, entry] of Object.entries(archive.manifest.kernels)) {
      if (sourceOfKernel(kernel) !== source) continue;
      seenIn.set(kernel, [...(seenIn.get(kernel) ?? []), archive.root]);
      const held = kernels.get(kernel);
      if (held === undefined || better(entry, held.entry)) kernels.set(kernel, { entry, from: archive });
    }
  }
  for (const [kernel, where] of seenIn) {
    if (where.length < 2) continue;
    const kept = kernels.get(kernel)!.from.root;
    summary.conflicts.push({ kernel, kept, over: where.filter((root) => root !== kept) });
  }
  return { kernels, state };
}

// Copies a kept entry's files from its input into the output, each checked against its sha256
// before the state that names it is written; returns how many were copied.
async function copyFiles(
  kernel: string,
  entry: ManifestEntry,
  from: string,
  outRoot: string,
  state: StateSite | undefined,
): Promise<number> {
  let copied = 0;
  for (const file of filesOf(entry)) {
    const source = join(from, file.path);
    const target = join(outRoot, file.path);
    const digest = await digestFile(source).catch(() => undefined);
    if (digest === undefined && state?.published(file) !== undefined) continue;
    if (digest?.sha256 !== file.sha256) {
      throw new IntegrityError(
        `${source} ${digest ? `has sha256 ${digest.sha256}` : "is missing"}, its manifest says ${file.sha256}`,
        {
          kernel,
          hint: "that input archive is damaged: re-run its shard; the output's state was left as it was",
        },
      );
    }
    if ((await digestFile(target).catch(() => undefined))?.sha256 === file.sha256) continue;
    await mkdir(dirname(target), { recursive: true });
    await noteReplacement(outRoot, file.path);
    await writeAtomically(target, (temp) => copyFile(source, temp));
    copied += 1;
  }
  return copied;
}
