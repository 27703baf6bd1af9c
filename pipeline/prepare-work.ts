// What `run` and `plan` both do before deciding anything, so that `plan` stays a dry run of `run`:
// the sources the filters select, the HTTP settings, the object sets, and per source, a few at a
// time, its signed indexes read while its part of the archive (or the --state site) is loaded,
// then the flavor chains of this shard, handed to the command's `visit`. A settled source whose
// key still holds (pipeline/settled-sources.ts) is neither read nor loaded: `settled` hears of it.
import { ConfigError } from "../archive/errors.ts";
import type { ArchiveState } from "../archive/state.ts";
import { sourceId } from "../archive/kernel-key.ts";
import { createSource } from "../distros/index.ts";
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
import pLimit from "p-limit";
import { loadObjectSets, type ObjectSet } from "./object-registry.ts";
import { packageCount, settleKey } from "./settled-sources.ts";
import { inShard, type Shard } from "./shard.ts";

export interface WorkSelection {
  filters?: SourceSelection | undefined;
  shard?: Shard | undefined;
  state?: StateOptions | undefined;
  retryFailed?: boolean | undefined;
  /** Read every source in full, settled or not (`--recheck`). */
  recheck?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface PreparationSteps {
  now: () => Date;
  reporter: Reporter;
  /** Run by `run` before anything is read: the archive folder made and a crash's leftovers removed. */
  beforeReading?: () => Promise<void>;
  /** Run by `run` once the archive is open: replacements a crash left half done are settled. */
  afterOpening?: (state: ArchiveState) => Promise<void>;
  /**
   * Each source the command looks after, as soon as its indexes are read, with its part loaded and
   * this shard's chains of its packages (none for a source the config no longer selects). The
   * caller lets the part and the chains go when the source has no work, so memory follows the
   * sources in flight and those with work, not the archive.
   */
  visit: (source: string, chains: FlavorChain[], opened: OpenedWork, read?: FullRead) => Promise<void>;
  /** Each source skipped because it is settled, with the kernel packages it holds, all unchanged. */
  settled?: (source: string, kernels: number) => void;
  /** With `run --reconvert`: the current toolchain's identity, part of what settles a source. */
  reconvertUnless?: () => Promise<string | undefined>;
}

/** A source whose indexes were read in full this time: every chain (of any shard), and how to settle it. */
export interface FullRead {
  id: string;
  chains: FlavorChain[];
  /**
   * When the command finds the source has no work in any shard: records it as settled, so later
   * runs skip it while its indexes, config, object sets and folder stay as they are now.
   */
  settle(): Promise<void>;
}

export interface OpenedWork {
  state: ArchiveState;
  files: ArchiveFiles;
  sets: ObjectSet[];
}

export interface PreparedWork {
  selected: SourceConfig[];
  sets: ObjectSet[];
  /** The archive's state: every source's state, and the parts `visit` kept loaded. */
  state: ArchiveState;
  files: ArchiveFiles;
  stale: { source: string; reason: string }[];
  absent: AbsentSuites[];
}

// Sources are read a few at a time (their indexes, then their part): the slow ones (Ubuntu's large
// indexes) do not hold up the rest, and only that many sources' packages are held at once.
const sourcesAtOnce = 4;

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
  const { state, files } = await openArchive(config.archive, selection.state, selection.signal);
  await steps.afterOpening?.(state);
  const opened = { state, files, sets };
  // Per group, so the lists keep the config's order whichever source is read first.
  const recordedStale: { source: string; reason: string }[][] = [];
  const recordedAbsent: AbsentSuites[][] = [];
  // A release and its backports are two config entries of one source: read together, one state.
  const groups = Map.groupBy(selected, (source) => sourceId(source));
  const { distro, release, arch } = selection.filters ?? {};
  const narrowed = distro !== undefined || release !== undefined || arch !== undefined;
  // With no filter narrowing the sources, the archive's other sources are looked after too (re-minified).
  const unselected = narrowed ? [] : state.sourceIds().filter((id) => !groups.has(id));
  const limit = pLimit(sourcesAtOnce);
  let reconvertUnless: Promise<string | undefined> | undefined;
  // What settles a source, but for its stamps: the folder's mark is read once per source.
  const keyFor = async (group: SourceConfig[], id: string): Promise<(stamps: string[]) => string> => {
    const inputs = {
      configs: group,
      sets,
      retryFailed: selection.retryFailed ?? false,
      reconvertUnless: await (reconvertUnless ??= steps.reconvertUnless?.() ?? Promise.resolve(undefined)),
    };
    const mark = await files.mark(id);
    return (stamps) => settleKey(inputs, stamps, mark);
  };
  // A settled source whose key still holds is recorded as read and handed to `settled`, its part
  // never loaded. First the signed roots' bytes as served (no signature check: bytes verified
  // before); when they changed, the roots verified and the index files they list, so a suite
  // signed again over the same indexes costs a gpgv and no index or part.
  const skipSettled = async (id: string, group: SourceConfig[]): Promise<AbsentSuites[] | undefined> => {
    const held = state.manifest.sources[id];
    const settled = held?.status === "ok" ? held.settled : undefined;
    if (held === undefined || settled === undefined || selection.recheck) return undefined;
    const sources = group.map((source) => createSource(source));
    // A mirror that cannot be reached now is read in full, which says why it is stale.
    const stamps = await Promise.all(sources.map((source) => source.stamp(selection.signal))).catch(() => undefined);
    if (stamps === undefined) return undefined;
    const current = settled.validUntil === undefined || Date.parse(settled.validUntil) > steps.now().getTime();
    const key = await keyFor(group, id);
    let holding = settled;
    if (!current || key(stamps) !== settled.key) {
      if (settled.contentKey === undefined) return undefined;
      const verified = await Promise.all(sources.map((source) => source.verify(selection.signal))).catch(
        () => undefined,
      );
      if (verified === undefined) return undefined;
      if (key(verified.map((item) => item.contentStamp)) !== settled.contentKey) return undefined;
      const { validUntil: _, ...kept } = settled;
      const validUntil = earliest(verified.map((item) => item.validUntil));
      holding = {
        ...kept,
        key: key(verified.map((item) => item.stamp)),
        ...(validUntil ? { validUntil } : {}),
      };
    }
    const checkedAt = steps.now().toISOString();
    state.manifest.sources[id] = { ...held, status: "ok", refreshedAt: checkedAt, checkedAt, settled: holding };
    const { absentSuites } = holding;
    steps.reporter.event({
      type: "source",
      source: id,
      status: "ok",
      found: holding.kernels,
      settled: true,
      ...(absentSuites ? { absentSuites } : {}),
    });
    steps.settled?.(id, holding.kernels);
    return absentSuites ? [{ source: id, suites: absentSuites }] : [];
  };
  await Promise.all([
    ...[...groups].map(([id, group], index) =>
      limit(async () => {
        const skipped = await skipSettled(id, group);
        if (skipped !== undefined) {
          recordedStale[index] = [];
          recordedAbsent[index] = skipped;
          return;
        }
        const [outcomes] = await Promise.all([
          discoverSources(group, { now: steps.now, reporter: steps.reporter, signal: selection.signal }),
          state.load([id]),
        ]);
        const recorded = recordDiscovery(state.manifest, outcomes);
        recordedStale[index] = recorded.stale;
        recordedAbsent[index] = recorded.absent;
        const all = flavorChains(recorded.discovered);
        const read: FullRead = {
          id,
          chains: all,
          async settle() {
            const held = state.manifest.sources[id];
            if (held?.status !== "ok") return;
            const surveyed = outcomes.flatMap((outcome) => ("stamp" in outcome ? [outcome] : []));
            const validUntil = earliest(surveyed.map((outcome) => outcome.validUntil));
            const absentSuites = recorded.absent.flatMap((item) => item.suites);
            const key = await keyFor(group, id);
            held.settled = {
              key: key(surveyed.map((outcome) => outcome.stamp)),
              contentKey: key(surveyed.map((outcome) => outcome.contentStamp)),
              kernels: packageCount(all),
              ...(validUntil ? { validUntil } : {}),
              ...(absentSuites.length > 0 ? { absentSuites } : {}),
            };
          },
        };
        await steps.visit(
          id,
          all.filter((chain) => inShard(chain.unit, selection.shard)),
          opened,
          read,
        );
      }),
    ),
    ...unselected.map((id) =>
      limit(async () => {
        await state.load([id]);
        await steps.visit(id, [], opened);
      }),
    ),
  ]);
  return { selected, sets, state, files, stale: recordedStale.flat(), absent: recordedAbsent.flat() };
}

// The earliest of the Valid-Until times given (ISO strings order as times), if any.
function earliest(times: readonly (string | undefined)[]): string | undefined {
  return times
    .filter((time): time is string => time !== undefined)
    .sort()
    .at(0);
}
