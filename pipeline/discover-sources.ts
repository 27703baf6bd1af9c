// Discovery across the selected sources. A source that cannot be read keeps its manifest
// entries and is marked stale with the reason; the others go on.
import type { Manifest } from "../archive/manifest.ts";
import { createSource, sourceId } from "../distros/index.ts";
import type { KernelPackage, SourceConfig } from "../distros/types.ts";
import { describeError } from "./errors.ts";
import type { Reporter } from "./events.ts";

export interface DiscoveredSource {
  source: SourceConfig;
  packages: KernelPackage[];
}

export interface SourceSelection {
  distro?: string;
  release?: string;
  arch?: string;
  flavor?: string;
  latest?: number;
}

/** Applies the command line's narrowing to the config's sources. */
export function selectSources(sources: SourceConfig[], filters: SourceSelection = {}): SourceConfig[] {
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

/** When a run or a plan starts: reads every source's indexes, recording each source's state in `manifest.sources`. */
export async function discoverSources(
  selected: SourceConfig[],
  manifest: Manifest,
  options: { now: () => Date; reporter: Reporter; signal?: AbortSignal },
): Promise<{ discovered: DiscoveredSource[]; stale: { source: string; reason: string }[] }> {
  const discovered: DiscoveredSource[] = [];
  const stale: { source: string; reason: string }[] = [];
  for (const source of selected) {
    const id = sourceId(source);
    const checkedAt = options.now().toISOString();
    const insecure = source.insecure === true ? { insecure: true } : {};
    try {
      const found = await createSource(source).discover(options.signal);
      discovered.push({ source, packages: found });
      manifest.sources[id] = { status: "ok", ...insecure, refreshedAt: checkedAt, checkedAt };
      options.reporter.event({ type: "source", source: id, status: "ok", found: found.length });
    } catch (error) {
      const reason = describeError(error);
      manifest.sources[id] = { ...manifest.sources[id], status: "stale", ...insecure, reason, checkedAt };
      stale.push({ source: id, reason });
      options.reporter.event({ type: "source", source: id, status: "stale", reason });
    }
  }
  return { discovered, stale };
}
