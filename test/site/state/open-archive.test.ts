// Opening the archive a command works on: the folder's own manifest, and with --state the site's
// entries for what the folder does not know, the folder's own winning.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  emptyManifest,
  writeManifest,
  type Manifest,
  type ManifestEntry,
  type SourceState,
} from "../../../archive/manifest.ts";
import { openArchive, seedFromState } from "../../../site/state/open-archive.ts";

// The seeding copies entries whole and reads none of their fields but the key they are stored under.
const entry = (reason: string) => ({ status: "failed", reason }) as ManifestEntry;
const source = (status: SourceState["status"]) => ({ status, checkedAt: new Date(0).toISOString() }) as SourceState;

function manifest(
  updatedAt: string,
  kernels: Record<string, ManifestEntry>,
  sources: Record<string, SourceState>,
): Manifest {
  return { ...emptyManifest(), updatedAt, kernels, sources };
}

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-open-archive-"));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("seedFromState", () => {
  it("adds the site's kernels the folder lacks, keeps the folder's own entry where both have one, and counts what it added", () => {
    const local = manifest(
      "2026-12-02T10:00:00.000Z",
      { "a/1/x86_64/k1": entry("local"), "a/1/x86_64/k2": entry("local") },
      {},
    );
    const state = manifest(
      "2026-12-01T10:00:00.000Z",
      { "a/1/x86_64/k2": entry("site"), "a/1/x86_64/k3": entry("site") },
      {},
    );
    const { manifest: seeded, seeded: count } = seedFromState(local, state);
    expect(count).toBe(1);
    expect(Object.keys(seeded.kernels).sort()).toEqual(["a/1/x86_64/k1", "a/1/x86_64/k2", "a/1/x86_64/k3"]);
    expect(seeded.kernels["a/1/x86_64/k2"]!.reason).toBe("local");
    expect(seeded.kernels["a/1/x86_64/k3"]!.reason).toBe("site");
  });

  it("takes the folder's source states over the site's, and the later of the two update times", () => {
    const local = manifest("2026-12-01T00:00:00.000Z", {}, { "debian/12/x86_64": source("stale") });
    const state = manifest(
      "2026-12-02T00:00:00.000Z",
      {},
      { "debian/12/x86_64": source("ok"), "ubuntu/22.04/x86_64": source("ok") },
    );
    const { manifest: seeded } = seedFromState(local, state);
    expect(seeded.sources["debian/12/x86_64"]!.status).toBe("stale");
    expect(seeded.sources["ubuntu/22.04/x86_64"]!.status).toBe("ok");
    expect(seeded.updatedAt).toBe("2026-12-02T00:00:00.000Z");
    expect(seedFromState(state, local).manifest.updatedAt).toBe("2026-12-02T00:00:00.000Z");
  });

  it("changes neither manifest it is given", () => {
    const local = manifest("2026-12-01T00:00:00.000Z", {}, {});
    const state = manifest("2026-12-02T00:00:00.000Z", { "a/1/x86_64/k": entry("site") }, {});
    seedFromState(local, state);
    expect(local.kernels).toEqual({});
    expect(local.updatedAt).toBe("2026-12-01T00:00:00.000Z");
  });
});

describe("openArchive", () => {
  it("without --state opens the folder's manifest alone, seeding nothing, and an empty one for a new folder", async () => {
    const root = join(work, "archive");
    const written = { ...emptyManifest(), updatedAt: "2026-12-02T00:00:00.000Z" };
    await mkdir(root);
    await writeManifest(root, written);
    const opened = await openArchive(root, undefined);
    expect(opened.seeded).toBe(0);
    expect(opened.manifest.updatedAt).toBe("2026-12-02T00:00:00.000Z");
    expect((await openArchive(join(work, "new"), undefined)).manifest.kernels).toEqual({});
  });
});
