// Discovery across the selected sources. A source that cannot be read keeps its manifest
// entries and is marked stale with the reason; the others go on.
import pLimit from "p-limit";
import type { Manifest } from "../archive/manifest.ts";
import { createSource } from "../distros/index.ts";
import { sourceId } from "../archive/kernel-key.ts";
import type { KernelPackage, SourceConfig } from "../distros/types.ts";
import { describeError } from "../archive/errors.ts";
import type { Reporter } from "./events.ts";

export interface DiscoveredSource {
  source: SourceConfig;
  packages: KernelPackage[];
}

/** A source read without some of its default suites: no configured mirror has them. */
export interface AbsentSuites {
  source: string;
  suites: string[];
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

/** What reading one source's indexes gave: its packages and the default suites it lacks, or why it could not be read. */
export type SourceOutcome = { source: SourceConfig; id: string; checkedAt: string } & (
  | {
      packages: KernelPackage[];
      absentSuites: string[];
      stamp: string;
      contentStamp: string;
      validUntil?: string | undefined;
    }
  | { reason: string }
);

// Sources are independent mirrors (or suites of one): a few at a time keeps the slow ones (Ubuntu's
// large indexes) from holding up the rest, within the per-host connection bound.
const sourcesAtOnce = 4;

/**
 * When a run or a plan starts: reads every source's indexes, a few at a time. It needs no manifest,
 * so the caller can read a large one meanwhile and record the outcomes with `recordDiscovery`.
 */
export async function discoverSources(
  selected: SourceConfig[],
  options: { now: () => Date; reporter: Reporter; signal?: AbortSignal },
): Promise<SourceOutcome[]> {
  const limit = pLimit(sourcesAtOnce);
  return Promise.all(
    selected.map((source) =>
      limit(async (): Promise<SourceOutcome> => {
        const id = sourceId(source);
        const checkedAt = options.now().toISOString();
        try {
          const { packages, absentSuites, stamp, contentStamp, validUntil } = await createSource(source).survey(
            options.signal,
          );
          options.reporter.event({
            type: "source",
            source: id,
            status: "ok",
            found: packages.length,
            ...(absentSuites.length > 0 ? { absentSuites } : {}),
          });
          return { source, id, checkedAt, packages, absentSuites, stamp, contentStamp, validUntil };
        } catch (error) {
          const reason = describeError(error);
          options.reporter.event({ type: "source", source: id, status: "stale", reason });
          return { source, id, checkedAt, reason };
        }
      }),
    ),
  );
}

/** When the manifest is at hand: each source's state recorded in it; a stale one keeps its last refresh. */
export function recordDiscovery(
  manifest: Manifest,
  outcomes: SourceOutcome[],
): { discovered: DiscoveredSource[]; stale: { source: string; reason: string }[]; absent: AbsentSuites[] } {
  const discovered: DiscoveredSource[] = [];
  const stale: { source: string; reason: string }[] = [];
  const absent: AbsentSuites[] = [];
  for (const outcome of outcomes) {
    const { source, id, checkedAt } = outcome;
    const insecure = source.insecure === true ? { insecure: true } : {};
    if ("packages" in outcome) {
      discovered.push({ source, packages: outcome.packages });
      if (outcome.absentSuites.length > 0) absent.push({ source: id, suites: outcome.absentSuites });
      // Two entries of one release and arch (a release and its backports) share a state: either one stale makes it stale.
      if (stale.some((item) => item.source === id)) continue;
      manifest.sources[id] = { status: "ok", ...insecure, refreshedAt: checkedAt, checkedAt };
    } else {
      // A stale source is read in full next time: what settled it may no longer hold.
      const { settled: _, ...previous } = manifest.sources[id] ?? {};
      manifest.sources[id] = {
        ...previous,
        status: "stale",
        ...insecure,
        reason: outcome.reason,
        checkedAt,
      };
      stale.push({ source: id, reason: outcome.reason });
    }
  }
  return { discovered, stale, absent };
}
