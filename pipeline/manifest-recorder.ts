// How a run writes its manifest as results come in. Writes are chained, so two kernels finishing
// together cannot interleave them, and a write not yet started takes every entry recorded
// meanwhile. A converted kernel is written at once (it cost a download and a pahole run). A
// re-minified one is cheap to redo and comes every few tens of ms in a minify pass, while each
// write of the whole manifest costs more as the archive grows (6-7 KB per kernel: 1,000 kernels
// make 6.6 MB to stringify): its write waits until `lazyIntervalMs` after the previous one, so
// a pass over N kernels costs about (pass time / interval) writes instead of N. A crash then
// loses at most that interval of minify results, which the next run redoes.
import type { Manifest, ManifestEntry } from "../archive/manifest.ts";

export interface ManifestRecorder {
  /** Sets `kernel`'s entry; resolves once a manifest holding it is on disk. */
  record(kernel: string, entry: ManifestEntry, options?: { lazy?: boolean }): Promise<void>;
  /** Writes what is recorded without waiting out the interval; resolves when it is on disk. */
  flush(): Promise<void>;
}

/** When a run starts recording results into `manifest` (the object it holds and updates); `write` puts a manifest on disk. */
export function manifestRecorder(
  write: (manifest: Manifest) => Promise<void>,
  manifest: Manifest,
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
      manifest.kernels[kernel] = entry;
      if (!options.lazy) makeUrgent();
      if (queued === undefined) {
        const lazy = options.lazy === true;
        queued = writes.then(async () => {
          if (lazy) await waitForTurn();
          queued = undefined;
          hurry = undefined;
          urgent = false;
          await write({ ...manifest, updatedAt: now().toISOString() });
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
