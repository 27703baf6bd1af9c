// Opening the archive a command works on: the folder's own state, and with --state the site's
// entries for what the folder does not know, the folder's own winning, part by part as loaded.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyManifest, type Manifest, type ManifestEntry, type SourceState } from "../../../archive/manifest.ts";
import { localStateStore, openArchiveState, writeManifest } from "../../../archive/state.ts";
import { openArchive } from "../../../site/state/open-archive.ts";

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
let folders = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-open-archive-"));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

// A folder holding `written` as the archive's state files.
async function folderWith(written: Manifest): Promise<string> {
  const root = join(work, `archive-${++folders}`);
  await mkdir(root);
  await writeManifest(root, written);
  return root;
}

// The folder `local` opened with `seed`'s state as --state gives it.
async function seeded(local: Manifest, seed: Manifest) {
  return await openArchiveState(await folderWith(local), { seed: await localStateStore(await folderWith(seed)) });
}

describe("openArchiveState with a seed", () => {
  it("adds the seed's kernels the folder lacks to a loaded part, keeping the folder's own entry where both have one", async () => {
    const state = await seeded(
      manifest("2026-12-02T10:00:00.000Z", { "a/1/x86_64/k1": entry("local"), "a/1/x86_64/k2": entry("local") }, {}),
      manifest("2026-12-01T10:00:00.000Z", { "a/1/x86_64/k2": entry("site"), "a/1/x86_64/k3": entry("site") }, {}),
    );
    expect(state.manifest.kernels).toEqual({});
    await state.load(["a/1/x86_64"]);
    expect(Object.keys(state.manifest.kernels).sort()).toEqual(["a/1/x86_64/k1", "a/1/x86_64/k2", "a/1/x86_64/k3"]);
    expect(state.manifest.kernels["a/1/x86_64/k2"]!.reason).toBe("local");
    expect(state.manifest.kernels["a/1/x86_64/k3"]!.reason).toBe("site");
  });

  it("takes the folder's source states over the seed's, and the later of the two update times", async () => {
    const local = manifest("2026-12-01T00:00:00.000Z", {}, { "debian/12/x86_64": source("stale") });
    const site = manifest(
      "2026-12-02T00:00:00.000Z",
      {},
      { "debian/12/x86_64": source("ok"), "ubuntu/22.04/x86_64": source("ok") },
    );
    const state = await seeded(local, site);
    expect(state.manifest.sources["debian/12/x86_64"]!.status).toBe("stale");
    expect(state.manifest.sources["ubuntu/22.04/x86_64"]!.status).toBe("ok");
    expect(state.manifest.updatedAt).toBe("2026-12-02T00:00:00.000Z");
    expect((await seeded(site, local)).manifest.updatedAt).toBe("2026-12-02T00:00:00.000Z");
  });

  it("writes nothing to the seed's folder, and nothing to its own until a commit", async () => {
    const siteManifest = manifest("2026-12-02T00:00:00.000Z", { "a/1/x86_64/k": entry("site") }, {});
    const site = await folderWith(siteManifest);
    const root = await folderWith(manifest("2026-12-01T00:00:00.000Z", {}, {}));
    const state = await openArchiveState(root, { seed: await localStateStore(site) });
    await state.load(["a/1/x86_64"]);
    expect((await openArchiveState(root)).sourceIds()).toEqual([]);
    await state.commit();
    const reopened = await openArchiveState(root);
    expect((await reopened.loadAll()).kernels["a/1/x86_64/k"]!.reason).toBe("site");
    expect((await (await openArchiveState(site)).loadAll()).kernels).toEqual(siteManifest.kernels);
  });
});

describe("openArchive", () => {
  it("without --state opens the folder's state alone, and an empty one for a new folder", async () => {
    const root = await folderWith({
      ...emptyManifest(),
      updatedAt: "2026-12-02T00:00:00.000Z",
      kernels: { "a/1/x86_64/k": entry("local") },
    });
    const opened = await openArchive(root, undefined);
    expect(opened.state.manifest.updatedAt).toBe("2026-12-02T00:00:00.000Z");
    expect((await opened.state.loadAll()).kernels["a/1/x86_64/k"]!.reason).toBe("local");
    const fresh = await openArchive(join(work, "new"), undefined);
    expect(await fresh.state.loadAll()).toMatchObject({ kernels: {}, sources: {} });
  });
});
