// The orchestrator of `btfmill run`: discover every source, plan each against its part of the
// archive state, process the planned kernels with bounded concurrency, and record each result as
// soon as it exists. A source with nothing to do lets its part go once planned, so a run over
// many sources holds only the parts it works on.
import pLimit from "p-limit";
import { mkdir, rmdir } from "node:fs/promises";
import { scratchDir } from "../archive/layout.ts";
import { removeLeftovers } from "../archive/leftovers.ts";
import { settleReplacements } from "../archive/replacements.ts";
import { toolchainIdentity, type ManifestEntry } from "../archive/manifest.ts";
import type { KernelPackage } from "../distros/types.ts";
import { keyPath } from "../archive/kernel-key.ts";
import type { Config } from "./config.ts";
import type { AbsentSuites, SourceSelection } from "./discover-sources.ts";
import type { Reporter } from "./events.ts";
import { walkChain, type FlavorChain } from "./flavor-chains.ts";
import { manifestRecorder } from "./manifest-recorder.ts";
import { minifyPass } from "./minify-pass.ts";
import { planRun, skipRecorded, type PlannedKernel } from "./plan.ts";
import { prepareWork, type FullRead } from "./prepare-work.ts";
import { chainsOrSetsHaveWork, packageCount, sourceHasWork } from "./settled-sources.ts";
import { processKernel } from "./process-kernel.ts";
import { entryShardUnit, inShard, type Shard } from "./shard.ts";
import { selectTools, type SelectedTools } from "./toolchain/select.ts";
import type { StateOptions } from "../site/state/state-site.ts";

export type RunFilters = SourceSelection;

export interface RunOptions {
  filters?: RunFilters;
  jobs?: number;
  retryFailed?: boolean;
  /** Read every source in full, settled or not (pipeline/settled-sources.ts). */
  recheck?: boolean;
  /** Convert again the kernels another toolchain converted (default: config toolchain.reconvert). */
  reconvert?: boolean;
  /** Only this share of the work (pipeline/shard.ts). */
  shard?: Shard;
  /** Start from a published site's manifest instead of (or on top of) the local archive's. */
  state?: StateOptions;
  reporter: Reporter;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface RunSummary {
  processed: number;
  ok: number;
  failed: { kernel: string; reason: string }[];
  /** Kernels not converted because an older kernel of their flavor ships BTF. */
  skipped: number;
  /** Kernel x object set minifications done (new kernels, or sets whose objects changed). */
  minified: number;
  unchanged: number;
  staleSources: { source: string; reason: string }[];
  /** Sources read without default suites that no configured mirror carries (read as empty). */
  absentSuites: AbsentSuites[];
}

/** When `btfmill run` is called: does the whole job and returns what happened. */
export async function runPipeline(config: Config, options: RunOptions): Promise<RunSummary> {
  const now = options.now ?? (() => new Date());
  const { reporter } = options;
  const summary: RunSummary = {
    processed: 0,
    ok: 0,
    failed: [],
    skipped: 0,
    minified: 0,
    unchanged: 0,
    staleSources: [],
    absentSuites: [],
  };

  // The tools are asked for only when something needs them; a run with nothing to do needs none.
  let selectedTools: Promise<SelectedTools> | undefined;
  const tools = () => (selectedTools ??= selectTools(config.toolchain, config.pahole));
  const reconvert = options.reconvert ?? config.toolchain.reconvert;
  let current: Promise<string> | undefined;
  const currentIdentity = () =>
    (current ??= tools().then((selected) =>
      toolchainIdentity({ pahole: { version: selected.pahole.text, flags: [] }, toolchain: selected.toolchain }),
    ));
  const include = (entry: ManifestEntry) => inShard(entryShardUnit(entry, config.sources), options.shard);
  const todo: PlannedKernel[] = [];
  let unchanged = 0;
  const working: FlavorChain[] = [];
  const workingSources = new Set<string>();
  // Sources read in full that have work: settled at the end when the run leaves them none.
  const toSettle: FullRead[] = [];
  const { sets, state, files, stale, absent } = await prepareWork(config, options, {
    now,
    reporter,
    settled: (_, kernels) => {
      summary.unchanged += kernels;
      unchanged += kernels;
    },
    reconvertUnless: async () => (reconvert ? await currentIdentity() : undefined),
    beforeReading: async () => {
      await mkdir(config.archive, { recursive: true });
      // One run per archive at a time (the manifest is its state), so anything unfinished is a crash's.
      await removeLeftovers(config.archive);
    },
    afterOpening: async (opened) => {
      // Only the parts of the sources whose files were being replaced are loaded for this.
      await settleReplacements(config.archive, opened);
    },
    // Each source is planned as its indexes come in; one with nothing to do lets its part and packages go.
    visit: async (id, sourceChains, opened, read) => {
      const planOptions = {
        files: opened.files,
        sets: opened.sets,
        retryFailed: options.retryFailed ?? false,
        reconvertUnless: reconvert ? await currentIdentity() : undefined,
      };
      const { manifest } = opened.state;
      const entries = () => opened.state.entries(id);
      const plan = await planRun(
        manifest,
        sourceChains.flatMap((chain) => chain.packages),
        planOptions,
      );
      todo.push(...plan.todo);
      unchanged += plan.unchanged.length;
      const work =
        plan.todo.length > 0 ||
        (await chainsOrSetsHaveWork(manifest, sourceChains, entries, { ...planOptions, include }));
      if (work) {
        working.push(...sourceChains);
        workingSources.add(id);
        if (read) toSettle.push(read);
        return;
      }
      // Walking its chains would count every kernel unchanged and record nothing.
      summary.unchanged += packageCount(sourceChains);
      // A shard settles a source only when no other shard has work in it either.
      const settles =
        read !== undefined &&
        (options.shard === undefined ||
          !(await sourceHasWork(manifest, read.chains, entries, { ...planOptions, include: () => true })));
      if (settles) await read.settle();
      opened.state.release(id);
    },
  });
  summary.staleSources.push(...stale);
  summary.absentSuites.push(...absent);
  const { manifest } = state;
  // Parts loaded only to settle a replacement are let go too: the minify pass sees the working ones.
  for (const id of state.sourceIds()) if (!workingSources.has(id)) state.release(id);
  reporter.event({ type: "plan", todo: todo.length, unchanged });
  // A kernel's plan cannot change before its turn in its chain: each key is decided once.
  const planned = new Set(todo.map(({ pkg }) => keyPath(pkg.key)));

  const recorder = manifestRecorder(state, now);
  const record = (kernel: string, entry: ManifestEntry) => recorder.record(kernel, entry);
  const jobs = options.jobs ?? config.jobs;
  const limit = pLimit(jobs);
  // `jobs` decodes at once, and one kernel more than that in flight: the next kernel's download and
  // decoding overlap the pahole runs of those before it. Every kernel in flight may run its pahole,
  // so the last of a batch does not wait for a slot while a core is idle. `--jobs 1` stays one
  // kernel at a time (one vmlinux on disk), for hosts short of disk.
  const kernelsAtOnce = jobs === 1 ? 1 : jobs + 1;
  const slots = { fetch: pLimit(jobs), convert: pLimit(kernelsAtOnce) };
  const inFlight = pLimit(kernelsAtOnce);

  const convert = async (pkg: KernelPackage, ownBtf: boolean): Promise<ManifestEntry> => {
    const kernel = keyPath(pkg.key);
    const { pahole, bpftool, toolchain } = await tools();
    const entry = await processKernel(pkg, {
      archiveRoot: config.archive,
      slots,
      pahole,
      bpftool,
      toolchain,
      ownBtf,
      paholeConfig: config.pahole,
      signal: options.signal,
      now,
      onStage: (stage, bytes, totalBytes) => reporter.event({ type: "stage", kernel, stage, bytes, totalBytes }),
    });
    const previous = manifest.kernels[kernel];
    // A failure never replaces a kernel that was published before: its files stay valid.
    const keptPrevious = entry.status === "failed" && previous?.status === "ok";
    summary.processed += 1;
    if (entry.status === "ok") summary.ok += 1;
    else summary.failed.push({ kernel, reason: entry.reason ?? "unknown" });
    reporter.event({ type: "done", kernel, entry, keptPrevious });
    if (keptPrevious) return previous;
    await record(kernel, entry);
    return entry;
  };

  const skip = async (pkg: KernelPackage, btfKernel: string): Promise<void> => {
    const kernel = keyPath(pkg.key);
    const previous = manifest.kernels[kernel];
    // Published files stay published, and a skip already recorded for this package stays as it is.
    if (skipRecorded(previous, pkg)) {
      summary.unchanged += 1;
      return;
    }
    const entry: ManifestEntry = {
      key: pkg.key,
      flavor: pkg.flavor,
      status: "skipped",
      reason: `an older kernel of flavor ${pkg.flavor}, ${btfKernel}, already ships its own BTF, so this one does too (set kernelsWithBtf: "all" in the source's config to convert it anyway)`,
      package: {
        name: pkg.name,
        version: pkg.version,
        url: pkg.url,
        sha256: pkg.sha256,
        size: pkg.size,
        origin: pkg.origin,
      },
      updatedAt: now().toISOString(),
    };
    summary.skipped += 1;
    reporter.event({ type: "done", kernel, entry, keptPrevious: false });
    await record(kernel, entry);
  };

  await Promise.all(
    working.map((chain) =>
      walkChain(
        chain,
        async (pkg, ownBtf) => {
          if (planned.has(keyPath(pkg.key))) return inFlight(() => convert(pkg, ownBtf));
          summary.unchanged += 1;
          return manifest.kernels[keyPath(pkg.key)];
        },
        skip,
      ),
    ),
  );
  if (sets.length > 0) {
    await tools();
    await minifyPass(manifest, sets, {
      archiveRoot: config.archive,
      files,
      include,
      limit,
      signal: options.signal,
      // A new updatedAt, so merge prefers this shard's re-minified entry over another shard's older copy.
      record: (kernel, entry) => recorder.record(kernel, { ...entry, updatedAt: now().toISOString() }, { lazy: true }),
      onMinified: (kernel, set, minified) => {
        if (minified.error === undefined) summary.minified += 1;
        else summary.failed.push({ kernel: `${kernel} [set ${set}]`, reason: minified.error });
        reporter.event({ type: "minified", kernel, set, record: minified });
      },
    });
  }
  await recorder.flush();
  // What this run did may have left a source nothing to do: the next run then skips it.
  if (toSettle.length > 0) {
    files.rescan();
    const planOptions = {
      files,
      sets,
      retryFailed: options.retryFailed ?? false,
      reconvertUnless: reconvert ? await currentIdentity() : undefined,
    };
    for (const read of toSettle) {
      const id = read.id;
      const entries = () => state.entries(id);
      if (!(await sourceHasWork(manifest, read.chains, entries, { ...planOptions, include: () => true })))
        await read.settle();
    }
  }
  manifest.updatedAt = now().toISOString();
  await state.commit();
  // Each kernel removes its own scratch folder; the parent goes too once nothing is in flight.
  await rmdir(scratchDir(config.archive)).catch(() => {});
  return summary;
}
