// How each source's outcome is recorded in the manifest, when two config entries share an id
// (a Debian release and its backports suite: `debian/12/x86_64` both).
import { describe, expect, it } from "vitest";
import { emptyManifest } from "../../archive/manifest.ts";
import type { SourceConfig } from "../../distros/types.ts";
import { recordDiscovery, type SourceOutcome } from "../../pipeline/discover-sources.ts";

const release: SourceConfig = { distro: "debian", release: "12", arch: "x86_64" };
const backports: SourceConfig = { ...release, suites: ["bookworm-backports"] };
const ok = (source: SourceConfig): SourceOutcome => ({
  source,
  id: "debian/12/x86_64",
  checkedAt: "2026-12-02T16:00:00.000Z",
  packages: [],
  absentSuites: [],
  stamp: "stamp of the signed indexes",
  contentStamp: "stamp of the indexes they list",
});
const stale = (source: SourceConfig): SourceOutcome => ({
  source,
  id: "debian/12/x86_64",
  checkedAt: "2026-12-02T16:00:00.000Z",
  reason: "FetchError: suite bookworm-backports was found on none of the mirrors tried",
});

describe("recordDiscovery with two sources of one release and arch", () => {
  it.each([
    ["the stale one comes last", [ok(release), stale(backports)]],
    ["the stale one comes first", [stale(backports), ok(release)]],
  ])(
    "records the shared state as stale when one could not be read (%s), and still hands on the other's packages",
    (_, outcomes) => {
      const manifest = emptyManifest();
      const { discovered, stale: staleSources } = recordDiscovery(manifest, outcomes);
      expect(manifest.sources["debian/12/x86_64"]).toMatchObject({
        status: "stale",
        reason: expect.stringContaining("bookworm-backports"),
      });
      expect(discovered.map((item) => item.source)).toEqual([release]);
      expect(staleSources.map((item) => item.source)).toEqual(["debian/12/x86_64"]);
    },
  );

  it("records it ok when both were read", () => {
    const manifest = emptyManifest();
    recordDiscovery(manifest, [ok(release), ok(backports)]);
    expect(manifest.sources["debian/12/x86_64"]).toMatchObject({
      status: "ok",
      refreshedAt: "2026-12-02T16:00:00.000Z",
    });
  });
});
