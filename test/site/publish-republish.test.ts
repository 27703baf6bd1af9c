// Publishing is atomic: while publish rebuilds and switches the tree again and again, a reader
// polling manifest.json and then every file it names through `serve` never meets a missing file
// or a manifest cut short.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CdnManifest } from "../../site/cdn-manifest.ts";
import { readSiteManifest } from "../../site/read-manifest.ts";
import { openSite } from "../../site/site-source.ts";
import { publishSite } from "../../site/publish.ts";
import { startSiteServer } from "../../site/serve.ts";
import { makeSiteArchive, type SiteArchive } from "../fixtures/site-archive.ts";

describe("republishing over a served tree", () => {
  let work: string;
  let archive: SiteArchive;
  let out: string;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-republish-"));
    archive = await makeSiteArchive(work);
    out = join(work, "site");
    await publishSite({ archive: archive.root, out, full: true, now: new Date(0) });
    ({ server, url } = await startSiteServer(out, 0, "127.0.0.1"));
  });
  afterAll(async () => {
    server?.close();
    server?.closeAllConnections();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("a concurrent reader sees every file the manifest it read names, across many switches", async () => {
    let publishing = true;
    const problems: string[] = [];
    const generations = new Set<string>();
    let filesChecked = 0;
    const reader = (async () => {
      while (publishing) {
        // The root, then every part it names, each checked against the root's sha256.
        let manifest: CdnManifest;
        try {
          manifest = await readSiteManifest(openSite(url));
        } catch (error) {
          problems.push(`manifest: ${(error as Error).message}`);
          continue;
        }
        generations.add(manifest.generatedAt);
        const paths = [
          ...manifest.kernels.flatMap((kernel) => [
            kernel.files.root,
            kernel.files.full,
            ...Object.values(kernel.files.sets),
          ]),
          ...manifest.bundles,
          manifest.unameIndex,
        ].flatMap((file) => (file ? [file.path] : []));
        for (const path of paths) {
          const file = await fetch(`${url}/${path}`, { method: "HEAD" });
          filesChecked += 1;
          if (file.status !== 200) problems.push(`${path}: HTTP ${file.status} (manifest of ${manifest.generatedAt})`);
        }
      }
    })();
    for (let round = 1; round <= 8; round += 1) {
      await publishSite({ archive: archive.root, out, full: true, now: new Date(round * 1000) });
    }
    publishing = false;
    await reader;
    expect(problems).toEqual([]);
    // The reader really ran across switches, not before or after them.
    expect(generations.size).toBeGreaterThan(2);
    expect(filesChecked).toBeGreaterThan(50);
    // Only the current and the previous generation stay on disk.
    expect((await readdir(work)).filter((name) => name.startsWith(".site.gen-"))).toHaveLength(2);
  });
});
