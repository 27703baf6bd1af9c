// What `run` and `plan` both do before deciding anything, so that `plan` stays a dry run of `run`:
// the sources the filters select, the HTTP settings, the object sets, the signed indexes read
// while the archive (or the --state site) is opened, the flavor chains of this shard, and the
// sources whose parts the command visits. No part is loaded here: each is loaded when visited.
import { ConfigError } from "../archive/errors.ts";
import type { ArchiveState } from "../archive/state.ts";
import { sourceId } from "../archive/kernel-key.ts";
import type { SourceConfig } from "../distros/types.ts";
import { configureHttp } from "../distros/net/http-settings.ts";
import type { ArchiveFiles } from "../site/state/archive-files.ts";
import { openArchive } from "../site/state/open-archive.ts";
import type { StateOptions } from "../site/state/state-site.ts";
import type { Config } from "./config.ts";
import {
  discoverSources,
  recordDiscovery,
  selectSources,
  type AbsentSuites,
  type SourceSelection,
} from "./discover-sources.ts";
import type { Reporter } from "./events.ts";
import { flavorChains, type FlavorChain } from "./flavor-chains.ts";
import { loadObjectSets, type ObjectSet } from "./object-registry.ts";
import { inShard, type Shard } from "./shard.ts";

export interface WorkSelection {
  filters?: SourceSelection | undefined;
  shard?: Shard | undefined;
  state?: StateOptions | undefined;
  signal?: AbortSignal | undefined;
}

export interface PreparationSteps {
  now: () => Date;
  reporter: Reporter;
  /** Run by `run` before anything is read: the archive folder made and a crash's leftovers removed. */
  beforeReading?: () => Promise<void>;
  /** Run by `run` once the archive is open: replacements a crash left half done are settled. */
  afterOpening?: (state: ArchiveState) => Promise<void>;
}

export interface PreparedWork {
  selected: SourceConfig[];
  sets: ObjectSet[];
  /** The archive's state: every source's state; parts are loaded per source by the caller. */
  state: ArchiveState;
  files: ArchiveFiles;
  /**
   * The sources this command looks after, sorted: the selected ones and, when no filter narrows
   * the sources, every source the archive holds (its kernels are re-minified too).
   */
  visit: string[];
  stale: { source: string; reason: string }[];
  absent: AbsentSuites[];
  /** This shard's flavor chains, from the packages the indexes list. */
  chains: FlavorChain[];
}

/** When `run` or `plan` starts: everything both decide from. */
export async function prepareWork(
  config: Config,
  selection: WorkSelection,
  steps: PreparationSteps,
): Promise<PreparedWork> {
  const selected = selectSources(config.sources, selection.filters);
  if (selected.length === 0) {
    throw new ConfigError(
      `no source in ${config.origin} matches the filters ${JSON.stringify(selection.filters ?? {})}`,
      {
        hint: "check --distro/--release/--arch against the config's sources",
      },
    );
  }
  configureHttp(config.http);
  await steps.beforeReading?.();
  // Objects are checked before any download: a bad registry is a config error, not 1,000 failures.
  const sets = await loadObjectSets(config.objects, config.archive, selection.signal);
  // The indexes download while a large manifest is read and checked: neither needs the other.
  const [outcomes, { state, files }] = await Promise.all([
    discoverSources(selected, { now: steps.now, reporter: steps.reporter, signal: selection.signal }),
    openArchive(config.archive, selection.state, selection.signal),
  ]);
  await steps.afterOpening?.(state);
  const { discovered, stale, absent } = recordDiscovery(state.manifest, outcomes);
  const chains = flavorChains(discovered).filter((chain) => inShard(chain.unit, selection.shard));
  const { distro, release, arch } = selection.filters ?? {};
  const narrowed = distro !== undefined || release !== undefined || arch !== undefined;
  const visit = [...new Set([...selected.map(sourceId), ...(narrowed ? [] : state.sourceIds())])].sort();
  return { selected, sets, state, files, stale, absent, chains, visit };
}
