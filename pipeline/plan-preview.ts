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

export type PlannedAction = PlanReason | "skip-has-btf";

export interface PlanPreview {
  /**
   * `unchanged`: the source's kernel packages that need nothing; `settled`: the source was not read,
   * its signed indexes and all else its work depends on being as its last full read left them;
   * `absentSuites`: default suites no configured mirror carries, read as empty.
   */
  sources: {
    source: string;
    status: "ok" | "stale";
    reason?: string;
    unchanged: number;
    settled?: true;
    absentSuites?: string[];
  }[];
  /** The kernels with something to do (unchanged ones are counted per source: 100,000 rows of nothing helped nobody). */
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
    recheck?: boolean;
    state?: StateOptions;
    signal?: AbortSignal;
  },
): Promise<PlanPreview> {
  const kernels: PlanPreview["kernels"] = [];
  const minify: PlanPreview["minify"] = [];
  const unchanged = new Map<string, number>();
  const settled = new Set<string>();
  let downloadBytes = 0;
  const add = (id: string, pkg: KernelPackage, action: PlannedAction | undefined): void => {
    if (action === undefined) {
      unchanged.set(id, (unchanged.get(id) ?? 0) + 1);
      return;
    }
    kernels.push({ kernel: keyPath(pkg.key), action, url: pkg.url, size: pkg.size });
    if (action !== "skip-has-btf") downloadBytes += pkg.size;
  };
  const { selected, state, absent } = await prepareWork(config, options, {
    now: () => new Date(),
    reporter: silent,
    settled: (id, count) => {
      settled.add(id);
      unchanged.set(id, count);
    },
    // Each source previewed as its indexes come in, then its part let go, as a run does with one that has no work.
    visit: async (id, chains, { state: opened, files, sets }) => {
      const { manifest } = opened;
      const planOptions = { files, sets, retryFailed: options.retryFailed ?? false };
      for (const chain of chains) {
        await walkChain(
          chain,
          async (pkg): Promise<ManifestEntry | undefined> => {
            add(id, pkg, await planKernel(manifest, pkg, planOptions));
            return manifest.kernels[keyPath(pkg.key)];
          },
          async (pkg) =>
            add(id, pkg, skipRecorded(manifest.kernels[keyPath(pkg.key)], pkg) ? undefined : "skip-has-btf"),
        );
      }
      if (sets.length > 0) {
        for (const entry of opened.entries(id)) {
          if (entry.status !== "ok" || !inShard(entryShardUnit(entry, config.sources), options.shard)) continue;
          const due = await setsToMinify(entry, sets, files);
          if (due.length > 0) minify.push({ kernel: keyPath(entry.key), sets: due.map((set) => set.name) });
        }
      }
      opened.release(id);
    },
  });
  const absentSuites = new Map(absent.map((item) => [item.source, item.suites]));
  const preview: PlanPreview = {
    sources: Object.entries(state.manifest.sources)
      .filter(([id]) => selected.some((source) => id === sourceId(source)))
      .map(([source, sourceState]) => ({
        source,
        status: sourceState.status,
        ...(sourceState.reason ? { reason: sourceState.reason } : {}),
        unchanged: unchanged.get(source) ?? 0,
        ...(settled.has(source) ? { settled: true as const } : {}),
        ...(absentSuites.has(source) ? { absentSuites: absentSuites.get(source) } : {}),
      })),
    kernels,
    minify,
    downloadBytes,
  };
  // As localeCompare orders them, at a fraction of its cost over 100,000 kernels.
  const byKernel = new Intl.Collator().compare;
  preview.kernels.sort((a, b) => byKernel(a.kernel, b.kernel));
  preview.minify.sort((a, b) => byKernel(a.kernel, b.kernel));
  return preview;
}
