// The orchestrator of `btfmill run`: discover every source, plan against the manifest, process
// the planned kernels with bounded concurrency, and record each result as soon as it exists.
import pLimit from "p-limit";
import { mkdir, rmdir } from "node:fs/promises";
import { scratchDir } from "../archive/layout.ts";
import { readManifest, writeManifest, type Manifest } from "../archive/manifest.ts";
import { createSource, sourceId } from "../distros/index.ts";
import type { KernelPackage, SourceConfig } from "../distros/types.ts";
import { keyPath } from "../distros/types.ts";
import type { Config } from "./config.ts";
import { ConfigError, describeError } from "./errors.ts";
import type { Reporter } from "./events.ts";
import { planRun } from "./plan.ts";
import { processKernel } from "./process-kernel.ts";
import { bpftoolVersion } from "./tools/bpftool.ts";
import { paholeVersion } from "./tools/pahole.ts";

export interface RunFilters {
  distro?: string;
  release?: string;
  arch?: string;
  flavor?: string;
  latest?: number;
}

export interface RunOptions {
  filters?: RunFilters;
  jobs?: number;
  retryFailed?: boolean;
  reporter: Reporter;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface RunSummary {
  processed: number;
  ok: number;
  failed: { kernel: string; reason: string }[];
  unchanged: number;
  staleSources: { source: string; reason: string }[];
}

/** Applies the command line's narrowing to the config's sources. */
export function selectSources(sources: SourceConfig[], filters: RunFilters = {}): SourceConfig[] {
  return sources
    .filter((source) => (filters.distro ? source.distro === filters.distro : true))
    .filter((source) => (filters.release ? source.release === filters.release : true))
    .filter((source) => (filters.arch ? source.arch === filters.arch : true))
    .map((source) => ({
      ...source,
      flavors: filters.flavor ? [filters.flavor] : source.flavors,
      latest: filters.latest ?? source.latest,
    }));
}

/** When `btfmill run` is called: does the whole job and returns what happened. */
export async function runPipeline(config: Config, options: RunOptions): Promise<RunSummary> {
  const now = options.now ?? (() => new Date());
  const { reporter } = options;
  const selected = selectSources(config.sources, options.filters);
  if (selected.length === 0) {
    throw new ConfigError(`no source in ${config.origin} matches the filters ${JSON.stringify(options.filters ?? {})}`, {
      hint: "check --distro/--release/--arch against the config's sources",
    });
  }
  await mkdir(config.archive, { recursive: true });
  const manifest: Manifest = await readManifest(config.archive);
  const summary: RunSummary = { processed: 0, ok: 0, failed: [], unchanged: 0, staleSources: [] };

  const packages: KernelPackage[] = [];
  for (const source of selected) {
    const id = sourceId(source);
    const checkedAt = now().toISOString();
    try {
      const found = await createSource(source).discover(options.signal);
      packages.push(...found);
      manifest.sources[id] = { status: "ok", refreshedAt: checkedAt, checkedAt };
      reporter.event({ type: "source", source: id, status: "ok", found: found.length });
    } catch (error) {
      const reason = describeError(error);
      manifest.sources[id] = { ...manifest.sources[id], status: "stale", reason, checkedAt };
      summary.staleSources.push({ source: id, reason });
      reporter.event({ type: "source", source: id, status: "stale", reason });
    }
  }

  const plan = await planRun(manifest, packages, { archiveRoot: config.archive, retryFailed: options.retryFailed ?? false });
  summary.unchanged = plan.unchanged.length;
  reporter.event({ type: "plan", todo: plan.todo.length, unchanged: plan.unchanged.length });

  if (plan.todo.length > 0) {
    const [pahole, bpftool] = await Promise.all([paholeVersion(), bpftoolVersion()]);
    // Manifest writes are chained so two kernels finishing together cannot interleave them.
    let writes = Promise.resolve();
    const record = (): Promise<void> => {
      writes = writes.then(() => writeManifest(config.archive, { ...manifest, updatedAt: now().toISOString() }));
      return writes;
    };
    const limit = pLimit(options.jobs ?? config.jobs);
    await Promise.all(
      plan.todo.map(({ pkg }) =>
        limit(async () => {
          const kernel = keyPath(pkg.key);
          const entry = await processKernel(pkg, {
            archiveRoot: config.archive,
            pahole,
            bpftool,
            paholeConfig: config.pahole,
            signal: options.signal,
            now,
            onStage: (stage, bytes, totalBytes) => reporter.event({ type: "stage", kernel, stage, bytes, totalBytes }),
          });
          const previous = manifest.kernels[kernel];
          // A failure never replaces a kernel that was published before: its files stay valid.
          const keptPrevious = entry.status === "failed" && previous?.status === "ok";
          if (!keptPrevious) manifest.kernels[kernel] = entry;
          summary.processed += 1;
          if (entry.status === "ok") summary.ok += 1;
          else summary.failed.push({ kernel, reason: entry.reason ?? "unknown" });
          reporter.event({ type: "done", kernel, entry, keptPrevious });
          await record();
        }),
      ),
    );
  }
  await writeManifest(config.archive, { ...manifest, updatedAt: now().toISOString() });
  // Each kernel removes its own scratch folder; the parent goes too once nothing is in flight.
  await rmdir(scratchDir(config.archive)).catch(() => {});
  return summary;
}
