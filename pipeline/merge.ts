// `btfmill merge`: shard results (each an archive folder) become one archive. Nothing is
// dropped: every kernel of every input has an entry in the result; for a kernel several inputs
// have, the choice is deterministic. Files are copied and checked against their sha256 before
// the merged state, written last, names them; a part that comes out the same is not rewritten.
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { writeAtomically } from "../archive/atomic-write.ts";
import { noteReplacement, settleReplacements } from "../archive/replacements.ts";
import { pathExists } from "../archive/file-listing.ts";
import { digestFile } from "../archive/file-digest.ts";
import { manifestFileName } from "../archive/layout.ts";
import { openArchiveState, writeManifest } from "../archive/state.ts";
import {
  emptyManifest,
  type ArchiveFile,
  type Manifest,
  type ManifestEntry,
  type SourceState,
} from "../archive/manifest.ts";
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
  const roots = [
    ...((await pathExists(join(outRoot, manifestFileName))) ? [outRoot] : []),
    ...inputs.map((input) => resolve(input)),
  ];
  const manifests: { root: string; manifest: Manifest }[] = [];
  for (const root of roots) {
    const opened = await openArchiveState(root);
    if (root === outRoot) await settleReplacements(outRoot, opened);
    manifests.push({ root, manifest: await opened.loadAll() });
  }
  const state: StateSite | undefined = options.state === undefined ? undefined : await openState(options.state);

  const merged = emptyManifest();
  const origin = new Map<string, string>();
  const seenIn = new Map<string, string[]>();
  for (const { root, manifest } of manifests) {
    for (const [id, state] of Object.entries(manifest.sources))
      merged.sources[id] = mergeSource(state, merged.sources[id]);
    for (const [kernel, entry] of Object.entries(manifest.kernels)) {
      seenIn.set(kernel, [...(seenIn.get(kernel) ?? []), root]);
      const held = merged.kernels[kernel];
      if (held === undefined || better(entry, held)) {
        merged.kernels[kernel] = entry;
        origin.set(kernel, root);
      }
    }
    if (manifest.updatedAt > merged.updatedAt) merged.updatedAt = manifest.updatedAt;
  }

  let filesCopied = 0;
  for (const [kernel, entry] of Object.entries(merged.kernels)) {
    const from = origin.get(kernel)!;
    if (from === outRoot) continue;
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
            hint: "that input archive is damaged: re-run its shard; nothing was merged",
          },
        );
      }
      if ((await digestFile(target).catch(() => undefined))?.sha256 === file.sha256) continue;
      await mkdir(dirname(target), { recursive: true });
      await noteReplacement(outRoot, file.path);
      await writeAtomically(target, (temp) => copyFile(source, temp));
      filesCopied += 1;
    }
  }
  await mkdir(outRoot, { recursive: true });
  await writeManifest(outRoot, merged);
  const conflicts = [...seenIn]
    .filter(([, where]) => where.length > 1)
    .map(([kernel, where]) => ({
      kernel,
      kept: origin.get(kernel)!,
      over: where.filter((root) => root !== origin.get(kernel)),
    }))
    .sort((a, b) => a.kernel.localeCompare(b.kernel));
  return { kernels: Object.keys(merged.kernels).length, conflicts, filesCopied };
}
