// A run's state commits: a converted kernel is on disk as soon as its record resolves, a minify
// pass's burst of records shares a few commits instead of one each, and the end of a run does not
// wait out the interval.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ManifestEntry } from "../../archive/manifest.ts";
import { openArchiveState, readManifest, type ArchiveState } from "../../archive/state.ts";
import { manifestRecorder } from "../../pipeline/manifest-recorder.ts";
import { filelessEntry } from "../fixtures/manifest-entry.ts";

const entry = (kernel: string): ManifestEntry =>
  filelessEntry(
    { distro: "debian", release: "12", arch: "x86_64", kernel },
    { status: "skipped", reason: "test", flavor: "cloud-amd64" },
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("manifest recorder", () => {
  let dir: string;
  let writes: number;
  // The archive's own state, its commits counted.
  const counted = async (): Promise<ArchiveState> => {
    const state = await openArchiveState(dir);
    await state.load(["debian/12/x86_64"]);
    const commit = state.commit;
    return Object.assign(state, {
      commit: () => {
        writes++;
        return commit();
      },
    });
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-recorder-"));
    writes = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("has a converted kernel on disk when its record resolves", async () => {
    const recorder = manifestRecorder(await counted(), () => new Date(), 60_000);
    await recorder.record("debian/12/x86_64/a", entry("a"));
    expect(Object.keys((await readManifest(dir)).kernels)).toEqual(["debian/12/x86_64/a"]);
    // Another converted kernel right after is not held back by the interval either.
    const started = Date.now();
    await recorder.record("debian/12/x86_64/b", entry("b"));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(Object.keys((await readManifest(dir)).kernels)).toHaveLength(2);
  });

  it("writes a burst of 40 minify records in a few writes, every record included", async () => {
    const recorder = manifestRecorder(await counted(), () => new Date(), 300);
    const recorded: Promise<void>[] = [];
    const started = performance.now();
    for (let index = 0; index < 40; index++) {
      recorded.push(recorder.record(`debian/12/x86_64/k${index}`, entry(`k${index}`), { lazy: true }));
      await sleep(10);
    }
    await Promise.all(recorded);
    // Writes at least 300 ms apart: one per 300 ms the burst took (~400 ms on an idle machine,
    // longer on a loaded one), and one for the last records, never one a record.
    const bound = Math.ceil((performance.now() - started) / 300) + 1;
    expect(writes).toBeLessThanOrEqual(Math.min(bound, 39));
    expect(Object.keys((await readManifest(dir)).kernels)).toHaveLength(40);
  });

  it("lets a converted kernel or the end of the run cut a minify record's wait short", async () => {
    const recorder = manifestRecorder(await counted(), () => new Date(), 60_000);
    await recorder.record("debian/12/x86_64/first", entry("first"), { lazy: true });
    const started = Date.now();
    const lazy = recorder.record("debian/12/x86_64/pruned", entry("pruned"), { lazy: true });
    await sleep(50);
    expect((await readManifest(dir)).kernels["debian/12/x86_64/pruned"]).toBeUndefined();
    await recorder.flush();
    await lazy;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await readManifest(dir)).kernels["debian/12/x86_64/pruned"]).toBeDefined();
    const converted = recorder.record("debian/12/x86_64/late", entry("late"), { lazy: true });
    await sleep(20);
    await recorder.record("debian/12/x86_64/converted", entry("converted"));
    await converted;
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
