// `--state` from a site over HTTP: the site's archive root is read at once, but a source's part of
// the archive state and of the site's manifest only when a command loads that source.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyManifest, type ManifestEntry, type Manifest } from "../../../archive/manifest.ts";
import { openArchiveState, writeManifest } from "../../../archive/state.ts";
import { publishSite } from "../../../site/publish.ts";
import { openState } from "../../../site/state/state-site.ts";
import { filelessEntry } from "../../fixtures/manifest-entry.ts";
import { startStaticServer, type StaticServer } from "../../helpers/static-server.ts";

const sources = ["debian/11/x86_64", "debian/12/x86_64", "ubuntu/22.04/arm64"];

// A kernel that failed: an entry with no file, enough for the state and the site's manifest.
function failed(source: string, kernel: string): [string, ManifestEntry] {
  const [distro, release, arch] = source.split("/") as [string, string, "x86_64" | "arm64"];
  const recorded = { status: "failed", reason: "the mirror was unreachable", flavor: "cloud" } as const;
  return [
    `${source}/${kernel}`,
    filelessEntry({ distro, release, arch, kernel }, { ...recorded, updatedAt: "2026-12-02T00:00:00.000Z" }),
  ];
}

let work: string;
let server: StaticServer;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-state-site-"));
  const manifest: Manifest = {
    ...emptyManifest(),
    updatedAt: "2026-12-02T00:00:00.000Z",
    sources: Object.fromEntries(
      sources.map((source) => [source, { status: "ok", checkedAt: "2026-12-02T00:00:00.000Z" }]),
    ),
    kernels: Object.fromEntries(
      sources.flatMap((source) => [failed(source, "6.1.0-1-cloud"), failed(source, "6.1.0-2-cloud")]),
    ),
  };
  await writeManifest(join(work, "archive"), manifest);
  await publishSite({ archive: join(work, "archive"), out: join(work, "site"), full: false });
  server = await startStaticServer(join(work, "site"));
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

const partsAsked = () =>
  server.requests
    .map((request) => request.path)
    .filter((path) => path.startsWith("/manifest/") || path.startsWith("/state/"))
    .sort();

describe("openState over HTTP", () => {
  it("reads a source's archive part and manifest part when that source is loaded, and no other source's", async () => {
    const site = await openState({ from: server.url });
    expect(partsAsked()).toEqual([]);
    const state = await openArchiveState(join(work, "fresh"), { seed: site.store });
    expect(state.sourceIds()).toEqual(sources);
    await state.load(["debian/12/x86_64"]);
    expect(partsAsked()).toEqual([
      "/manifest/debian/12/x86_64.json",
      expect.stringMatching(/^\/state\/debian\/12\/x86_64\/[0-9a-f]{64}\.json$/),
    ]);
    expect(Object.keys(state.manifest.kernels).sort()).toEqual([
      "debian/12/x86_64/6.1.0-1-cloud",
      "debian/12/x86_64/6.1.0-2-cloud",
    ]);
    await site.loadSources(["ubuntu/22.04/arm64", "debian/12/x86_64"]);
    expect(partsAsked().filter((path) => path.startsWith("/manifest/"))).toEqual([
      "/manifest/debian/12/x86_64.json",
      "/manifest/ubuntu/22.04/arm64.json",
    ]);
  });
});
