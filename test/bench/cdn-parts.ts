// Benchmark: what a consumer of one source reads from a large site, with the manifest split into a
// signed root and one part per source (CDN schema v2) against the one v1 manifest that held every
// kernel. The records are real: the fixture archive is published with btfmill's own publish, and
// one of its kernel records (three object sets with their coverage) is repeated under N keys over
// S sources; the parts and root are written by publish's own writers. Each read is
// readSiteManifest over HTTP from `btfmill serve`'s handler on 127.0.0.1, as pull and lookup read.
//
//   node test/bench/cdn-parts.ts [--kernels=10000] [--sources=60]
import { mkdir, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { CdnKernel, CdnManifestV1 } from "../../site/cdn-manifest.ts";
import { publishSite } from "../../site/publish.ts";
import { writeJsonFile } from "../../site/publish-json.ts";
import { writeParts } from "../../site/publish-parts.ts";
import { matchSources, readSiteManifest } from "../../site/read-manifest.ts";
import { startSiteServer } from "../../site/serve.ts";
import { openSite } from "../../site/site-source.ts";
import { makeSiteArchive } from "../fixtures/site-archive.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function syntheticKernels(template: CdnKernel, templateKey: string, count: number, sources: number): CdnKernel[] {
  const text = JSON.stringify(template);
  const kernels: CdnKernel[] = [];
  for (let index = 0; index < count; index++) {
    const source = index % sources;
    const distro = `distro${Math.floor(source / 6)}`;
    const release = `${source % 3}`;
    const arch = source % 2 === 0 ? "x86_64" : "arm64";
    const kernel = `6.1.0-${index}-generic`;
    const key = `${distro}/${release}/${arch}/${kernel}`;
    kernels.push({
      ...(JSON.parse(text.replaceAll(templateKey, key)) as CdnKernel),
      key,
      distro,
      release,
      arch,
      kernel,
    });
  }
  return kernels.sort((a, b) => a.key.localeCompare(b.key));
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await run();
  return { ms: performance.now() - start, value };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kernels: { type: "string" }, sources: { type: "string" } } });
  const count = Number(values.kernels ?? 10000);
  const sources = Number(values.sources ?? 60);
  const work = join(repoRoot, ".bench", `cdn-parts-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    const archive = await makeSiteArchive(work);
    const { manifest } = await publishSite({ archive: archive.root, out: join(work, "seed"), full: true });
    const template = manifest.kernels.find((kernel) => kernel.key === archive.keys.x86)!;
    const kernels = syntheticKernels(template, archive.keys.x86, count, sources);
    const { kernels: _, parts: __, schemaVersion: ___, ...fields } = manifest;
    const v2 = join(work, "v2");
    const parts = await writeParts(v2, kernels);
    await writeJsonFile(v2, "manifest.json", { ...fields, schemaVersion: 2, parts });
    // With its .gz and .br, as publish wrote v1 sites: serve sends the smallest the client takes.
    const v1 = join(work, "v1");
    const v1Manifest: CdnManifestV1 = { ...fields, schemaVersion: 1, kernels };
    await writeJsonFile(v1, "manifest.json", v1Manifest);
    const [v1Server, v2Server] = [await startSiteServer(v1, 0, "127.0.0.1"), await startSiteServer(v2, 0, "127.0.0.1")];
    try {
      const part = parts[0]!;
      const one = matchSources(part);
      const rootBytes = (await stat(join(v2, "manifest.json"))).size;
      const rows = [
        ["v1: the one manifest, one source kept", (await stat(join(v1, "manifest.json"))).size, v1Server.url, one],
        ["v2: root + that source's part", rootBytes + part.size, v2Server.url, one],
        ["v2: root + every part", rootBytes + parts.reduce((sum, ref) => sum + ref.size, 0), v2Server.url, undefined],
      ] as const;
      // One request first, so neither candidate pays for the first connection and the code's warm-up.
      await readSiteManifest(openSite(v2Server.url), { sources: () => false });
      console.log(`${count} kernels over ${sources} sources; a part holds ${part.kernels} kernels\n`);
      console.log("| read | bytes (uncompressed) | wall | kernels |\n|---|---|---|---|");
      for (const [label, bytes, url, filter] of rows) {
        const { ms, value } = await timed(() => readSiteManifest(openSite(url), { sources: filter }));
        console.log(
          `| ${label} | ${(bytes / 1e6).toFixed(2)} MB | ${(ms / 1000).toFixed(3)} s | ${value.kernels.length} |`,
        );
      }
    } finally {
      for (const { server } of [v1Server, v2Server]) {
        server.close();
        server.closeAllConnections();
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
