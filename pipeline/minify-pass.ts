// After conversion, every published kernel is brought up to date with the registered object
// sets: a set whose fingerprint changed (an object was added, removed or rebuilt), or whose
// kernel's modules tarball changed, is minified again from the stored full BTF (and modules),
// with no package downloaded; a set that did not change is left alone; a set no longer
// configured is dropped from the entry.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type pLimit from "p-limit";
import { openBtf } from "../archive/btf/index.ts";
import { btfMemberName, scratchDir } from "../archive/layout.ts";
import type { Manifest, ManifestEntry, MinifiedRecord } from "../archive/manifest.ts";
import { describeError } from "../archive/errors.ts";
import type { ObjectSet } from "./object-registry.ts";
import type { ArchiveFiles } from "../site/state/archive-files.ts";
import { extractStoredBtf, extractStoredModules, minifySets } from "./stages/minify.ts";
import { stopSpawner } from "./tools/spawner.ts";

export interface MinifyPassOptions {
  archiveRoot: string;
  files: ArchiveFiles;
  /** Which archived kernels this run looks after (a `--shard` run: its share). */
  include: (entry: ManifestEntry) => boolean;
  limit: ReturnType<typeof pLimit>;
  signal?: AbortSignal;
  record: (kernel: string, entry: ManifestEntry) => Promise<void>;
  onMinified: (kernel: string, set: string, record: MinifiedRecord) => void;
}

/** When the minify pass or a plan asks which sets of an archived kernel are out of date. */
export async function setsToMinify(entry: ManifestEntry, sets: ObjectSet[], files: ArchiveFiles): Promise<ObjectSet[]> {
  const due: ObjectSet[] = [];
  for (const set of sets) {
    const held = entry.minified?.[set.name];
    const current =
      held?.fingerprint === set.fingerprint &&
      // Minified against the kernel's modules as they are now (none, on a kernel without them).
      held.modules?.tarball === entry.modules?.tarball?.sha256 &&
      (held.error !== undefined || (held.file !== undefined && (await files.has(held.file))));
    if (!current) due.push(set);
  }
  return due;
}

/** When a source's part is loaded: whether any of its kernels has a set to minify or to drop. */
export async function minifyWork(
  entries: ManifestEntry[],
  sets: ObjectSet[],
  options: Pick<MinifyPassOptions, "files" | "include">,
): Promise<boolean> {
  const configured = new Set(sets.map((set) => set.name));
  for (const entry of entries) {
    if (entry.status !== "ok" || entry.tarball === undefined || !options.include(entry)) continue;
    if (Object.keys(entry.minified ?? {}).some((name) => !configured.has(name))) return true;
    if ((await setsToMinify(entry, sets, options.files)).length > 0) return true;
  }
  return false;
}

/** When a run has converted its kernels and objects are registered: minifies what is due. */
export async function minifyPass(manifest: Manifest, sets: ObjectSet[], options: MinifyPassOptions): Promise<void> {
  const configured = new Set(sets.map((set) => set.name));
  // Conversions of this run wrote files since the plan looked.
  options.files.rescan();
  try {
    await minifyDue(manifest, sets, configured, options);
  } finally {
    await stopSpawner();
  }
}

async function minifyDue(
  manifest: Manifest,
  sets: ObjectSet[],
  configured: Set<string>,
  options: MinifyPassOptions,
): Promise<void> {
  await Promise.all(
    Object.entries(manifest.kernels).map(async ([kernel, entry]) => {
      if (entry.status !== "ok" || entry.tarball === undefined || !options.include(entry)) return;
      const due = await setsToMinify(entry, sets, options.files);
      const kept = Object.fromEntries(Object.entries(entry.minified ?? {}).filter(([name]) => configured.has(name)));
      const dropped = Object.keys(entry.minified ?? {}).length !== Object.keys(kept).length;
      if (due.length === 0) {
        if (dropped) await options.record(kernel, { ...entry, minified: kept });
        return;
      }
      // The manifest is written outside the job slot: the next kernel need not wait for it.
      const minified = await options.limit(async () => {
        await mkdir(scratchDir(options.archiveRoot), { recursive: true });
        const scratch = await mkdtemp(join(scratchDir(options.archiveRoot), "minify-"));
        try {
          try {
            await options.files.materialize(entry.tarball!, options.signal);
          } catch (error) {
            // Without its full BTF the entry stays as it is, out of date, so the next run tries again.
            for (const set of due)
              options.onMinified(kernel, set.name, {
                fingerprint: set.fingerprint,
                coverage: [],
                error: describeError(error),
              });
            return;
          }
          // The stored tarball is the full BTF: minifying again needs no package download.
          const fullBtf = join(scratch, btfMemberName(entry.key));
          const bytes = await extractStoredBtf(join(options.archiveRoot, entry.tarball!.path), fullBtf, {
            kernel,
            signal: options.signal,
          });
          // Coverage looks a few types up: the spec decodes lazily (against a full parse: test/bench/in-process.ts).
          const spec = openBtf(bytes);
          const modulesTarball = entry.modules?.tarball;
          const modules = modulesTarball && {
            tarball: modulesTarball.sha256,
            base: bytes,
            // Only when a relocation misses in vmlinux: most kernels never decompress it.
            load: async () => {
              await options.files.materialize(modulesTarball, options.signal);
              return await extractStoredModules(
                join(options.archiveRoot, modulesTarball.path),
                join(scratch, "modules.tar"),
                { kernel, signal: options.signal },
              );
            },
          };
          const made = await minifySets(
            fullBtf,
            spec,
            due,
            { archiveRoot: options.archiveRoot, scratch, kernel, modules, signal: options.signal },
            (set, record) => options.onMinified(kernel, set.name, record),
          );
          return { ...kept, ...made };
        } finally {
          await rm(scratch, { recursive: true, force: true });
        }
      });
      if (minified !== undefined) await options.record(kernel, { ...entry, minified });
    }),
  );
}
