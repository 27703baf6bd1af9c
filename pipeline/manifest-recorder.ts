// How a run commits its state as results come in. Commits are chained, so two kernels finishing
// together cannot interleave them, and a commit not yet started takes every entry recorded
// meanwhile. A converted kernel is committed at once (it cost a download and a pahole run). A
// re-minified one is cheap to redo and comes every few tens of ms in a minify pass, while each
// commit rewrites the kernel's whole part (6-7 KB per kernel: a source of 1,000 kernels makes
// 6.6 MB to stringify): its commit waits until `lazyIntervalMs` after the previous one, so a pass
// over N kernels costs about (pass time / interval) commits instead of N. A crash then loses at
// most that interval of minify results, which the next run redoes.
import type { ManifestEntry } from "../archive/manifest.ts";
import type { ArchiveState } from "../archive/state.ts";

export interface ManifestRecorder {
  /** Sets `kernel`'s entry; resolves once a state holding it is committed. */
  record(kernel: string, entry: ManifestEntry, options?: { lazy?: boolean }): Promise<void>;
  /** Commits what is recorded without waiting out the interval; resolves when it is on disk. */
  flush(): Promise<void>;
}

/** When a run starts recording results into its archive state (whose parts it has loaded). */
export function manifestRecorder(
  state: Pick<ArchiveState, "manifest" | "record" | "commit">,
  now: () => Date,
  lazyIntervalMs = 2000,
): ManifestRecorder {
  let writes = Promise.resolve();
  let queued: Promise<void> | undefined;
  // Set when something must not wait: a converted kernel, or the end of the run.
  let urgent = false;
  let hurry: (() => void) | undefined;
  let lastWrite = 0;

  const waitForTurn = (): Promise<void> => {
    const wait = lastWrite + lazyIntervalMs - Date.now();
    if (urgent || wait <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, wait);
      hurry = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  };
  const makeUrgent = () => {
    urgent = true;
    hurry?.();
  };

  return {
    record(kernel, entry, options = {}) {
      state.record(kernel, entry);
      if (!options.lazy) makeUrgent();
      if (queued === undefined) {
        const lazy = options.lazy === true;
        queued = writes.then(async () => {
          if (lazy) await waitForTurn();
          queued = undefined;
          hurry = undefined;
          urgent = false;
          state.manifest.updatedAt = now().toISOString();
          await state.commit();
          lastWrite = Date.now();
        });
        writes = queued;
      }
      return queued;
    },
    flush() {
      makeUrgent();
      return writes;
    },
  };
}
