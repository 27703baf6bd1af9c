// `btfmill plan`: what `btfmill run` would do with the same config, filters and shard, from the
// indexes and the archive state alone: no package is downloaded and nothing is written. Each
// source's part is loaded, previewed and let go, as a run does with a source that has no work.
import type { ManifestEntry } from "../archive/manifest.ts";
import type { KernelPackage } from "../distros/types.ts";
import { keyPath, sourceId } from "../archive/kernel-key.ts";
import type { Config } from "./config.ts";
import type { SourceSelection } from "./discover-sources.ts";
import type { Reporter } from "./events.ts";
import { walkChain } from "./flavor-chains.ts";
import { planKernel, skipRecorded, type PlanReason } from "./plan.ts";
import { prepareWork } from "./prepare-work.ts";
import { setsToMinify } from "./minify-pass.ts";
import { entryShardUnit, inShard, type Shard } from "./shard.ts";
import type { StateOptions } from "../site/state/state-site.ts";

export type PlannedAction = PlanReason | "unchanged" | "skip-has-btf";

export interface PlanPreview {
  /** `absentSuites`: default suites no configured mirror carries, read as empty. */
  sources: { source: string; status: "ok" | "stale"; reason?: string; absentSuites?: string[] }[];
  kernels: { kernel: string; action: PlannedAction; url: string; size: number }[];
  /** Archived kernels whose object sets are out of date: minified again from the stored BTF. */
  minify: { kernel: string; sets: string[] }[];
  /** Sum of the package sizes the run would download (before it learns which new kernels ship BTF). */
  downloadBytes: number;
}

const silent: Reporter = { event() {}, close() {} };

/** When the user runs `btfmill plan`: the preview, newest knowledge from the signed indexes. */
export async function previewRun(
  config: Config,
  options: {
    filters?: SourceSelection;
    shard?: Shard;
    retryFailed?: boolean;
    state?: StateOptions;
    signal?: AbortSignal;
  },
): Promise<PlanPreview> {
  const { selected, sets, state, files, absent, chains, visit } = await prepareWork(config, options, {
    now: () => new Date(),
    reporter: silent,
  });
  const { manifest } = state;
  const absentSuites = new Map(absent.map((item) => [item.source, item.suites]));
  const preview: PlanPreview = {
    sources: Object.entries(manifest.sources)
      .filter(([id]) => selected.some((source) => id === sourceId(source)))
      .map(([source, sourceState]) => ({
        source,
        status: sourceState.status,
        ...(sourceState.reason ? { reason: sourceState.reason } : {}),
        ...(absentSuites.has(source) ? { absentSuites: absentSuites.get(source) } : {}),
      })),
    kernels: [],
    minify: [],
    downloadBytes: 0,
  };
  const planOptions = { files, sets, retryFailed: options.retryFailed ?? false };
  const add = (pkg: KernelPackage, action: PlannedAction): void => {
    preview.kernels.push({ kernel: keyPath(pkg.key), action, url: pkg.url, size: pkg.size });
    if (action !== "unchanged" && action !== "skip-has-btf") preview.downloadBytes += pkg.size;
  };
  const chainsBySource = Map.groupBy(chains, (chain) => sourceId(chain.packages[0]!.key));
  for (const id of visit) {
    await state.load([id]);
    for (const chain of chainsBySource.get(id) ?? []) {
      await walkChain(
        chain,
        async (pkg): Promise<ManifestEntry | undefined> => {
          add(pkg, (await planKernel(manifest, pkg, planOptions)) ?? "unchanged");
          return manifest.kernels[keyPath(pkg.key)];
        },
        async (pkg) => add(pkg, skipRecorded(manifest.kernels[keyPath(pkg.key)], pkg) ? "unchanged" : "skip-has-btf"),
      );
    }
    if (sets.length > 0) {
      for (const entry of state.entries(id)) {
        if (entry.status !== "ok" || !inShard(entryShardUnit(entry, config.sources), options.shard)) continue;
        const due = await setsToMinify(entry, sets, files);
        if (due.length > 0) preview.minify.push({ kernel: keyPath(entry.key), sets: due.map((set) => set.name) });
      }
    }
    state.release(id);
  }
  preview.kernels.sort((a, b) => a.kernel.localeCompare(b.kernel));
  preview.minify.sort((a, b) => a.kernel.localeCompare(b.kernel));
  return preview;
}
