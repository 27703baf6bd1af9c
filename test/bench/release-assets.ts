// Benchmark: the archive saved as release assets and restored, against the loopback stand-in for
// GitHub's releases API: a first save, a save after a night's 5 new kernels in one source, a
// shard's restore of one source, a full restore, and the publish job's night (the state and one
// source restored, a save keeping the others' assets), with time and bytes moved for each.
//
//   node test/bench/release-assets.ts [--kernels=N] [--sources=N]   (default 300 kernels, 6 sources)
//
// Each kernel's tarball is 1 MB of random bytes (BTFHub's are 0.5-1.5 MB of xz, which does not
// compress further); the manifest is the fixture archive's real entry repeated per kernel, so the
// state asset has a real manifest's size and compressibility. Scratch space is .bench/.
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ManifestEntry } from "../../archive/manifest.ts";
import { readManifest, writeManifest } from "../../archive/state.ts";
import { GitHubReleases, gitHubTarget } from "../../site/release/github-releases.ts";
import { restoreFromRelease } from "../../site/release/release-restore.ts";
import { githubMaxAssetBytes, saveToRelease } from "../../site/release/release-save.ts";
import { makeSiteArchive } from "../fixtures/site-archive.ts";
import { startGitHubStandIn } from "../helpers/github-releases-stand-in.ts";
import { countOption } from "./measure.ts";

const work = join(fileURLToPath(new URL("../..", import.meta.url)), ".bench", "release-assets");
const args = process.argv.slice(2);
const kernels = countOption(args, "kernels", 300);
const sources = countOption(args, "sources", 6);

async function addKernel(root: string, template: ManifestEntry, entries: Record<string, ManifestEntry>, i: number) {
  const key = { distro: `distro${i % sources}`, release: "12", arch: "x86_64" as const, kernel: `6.1.0-${i}-amd64` };
  const path = `${key.distro}/12/x86_64/${key.kernel}.btf.tar.xz`;
  await mkdir(join(root, key.distro, "12", "x86_64"), { recursive: true });
  const bytes = randomBytes(1_000_000);
  await writeFile(join(root, path), bytes);
  entries[`${key.distro}/12/x86_64/${key.kernel}`] = {
    ...template,
    key,
    tarball: { path, sha256: template.tarball!.sha256, size: bytes.length },
  };
}

async function timed<T>(label: string, run: () => Promise<T>, moved: (result: T) => string): Promise<void> {
  const start = performance.now();
  const result = await run();
  const seconds = ((performance.now() - start) / 1000).toFixed(2);
  console.log(`${label.padEnd(44)} ${seconds.padStart(7)} s   ${moved(result)}`);
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const fixture = await makeSiteArchive(work);
// Without the fixture's minified files, which the bench's archive does not hold: its kernels name only their tarball.
const template = { ...(await readManifest(fixture.root)).kernels[fixture.keys.x86]! };
delete template.minified;
const root = join(work, "btf-archive");
const manifest = await readManifest(fixture.root);
manifest.kernels = {};
manifest.sources = {};
for (let i = 0; i < kernels; i++) await addKernel(root, template, manifest.kernels, i);
await writeManifest(root, manifest);
const github = await startGitHubStandIn({ repo: "bench/archive", token: "bench" });
const releases = new GitHubReleases(
  gitHubTarget("bench/archive", { GITHUB_API_URL: github.apiUrl, GH_TOKEN: "bench" } as NodeJS.ProcessEnv),
);
const save = () => saveToRelease({ archive: root, tag: "archive", releases, maxAssetBytes: githubMaxAssetBytes });
const uploads = (result: Awaited<ReturnType<typeof save>>) =>
  `uploaded ${result.uploaded.length} assets, ${mb(result.uploadedBytes)}: ${result.uploaded.map((asset) => asset.name.replace(/-[0-9a-f]{12}/, "")).join(" ")}`;
try {
  console.log(`${kernels} kernels of 1 MB over ${sources} sources`);
  await timed("first save", save, uploads);
  for (let i = kernels; i < kernels + 5; i++) await addKernel(root, template, manifest.kernels, i * sources);
  await writeManifest(root, manifest);
  await timed("save after 5 new kernels in one source", save, uploads);
  const restore = (dir: string, filter: { distro?: string; sources?: string[] }) => () =>
    restoreFromRelease({ archive: join(work, dir), tag: "archive", releases, filter });
  const downloads = (result: Awaited<ReturnType<ReturnType<typeof restore>>>) =>
    `downloaded ${result.parts.reduce((n, part) => n + part.assets, 0)} assets, ${mb(result.downloadedBytes)}`;
  await timed("shard restore (--distro distro1)", restore("shard", { distro: "distro1" }), downloads);
  await timed("full restore", restore("full", {}), downloads);
  // The publish job's night: the state and the one source with work, 5 more kernels, a save keeping the rest.
  const night = join(work, "night");
  await timed(
    "publish restore (--source distro0/12/x86_64)",
    restore("night", { sources: ["distro0/12/x86_64"] }),
    downloads,
  );
  const restored = await readManifest(night);
  for (let i = kernels + 5; i < kernels + 10; i++) await addKernel(night, template, restored.kernels, i * sources);
  await writeManifest(night, restored);
  await timed(
    "save --keep-absent, 5 more in that source",
    () =>
      saveToRelease({ archive: night, tag: "archive", releases, maxAssetBytes: githubMaxAssetBytes, keepAbsent: true }),
    (result) =>
      `${uploads(result)}; kept ${result.keptAbsent.length} sources' assets, deleted ${result.deleted.length}`,
  );
} finally {
  await github.close();
  await rm(work, { recursive: true, force: true });
}
