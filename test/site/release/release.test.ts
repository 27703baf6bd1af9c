// The archive saved as release assets and restored, against a stand-in for GitHub's releases API
// on loopback: one asset per source, pieces past the asset limit, only changed parts uploaded,
// a shard's restore downloading only its sources, and a tampered asset refused.
import { createHash } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, IntegrityError } from "../../../archive/errors.ts";
import { digestFile } from "../../../archive/file-digest.ts";
import { readManifest, sourceOfKernel, writeManifest } from "../../../archive/state.ts";
import { mergeArchives } from "../../../pipeline/merge.ts";
import { GitHubApiError, GitHubReleases, gitHubTarget } from "../../../site/release/github-releases.ts";
import { restoreFromRelease } from "../../../site/release/release-restore.ts";
import { saveToRelease } from "../../../site/release/release-save.ts";
import { parseReleaseIndex } from "../../../site/release/release-index.ts";
import { makeSiteArchive, type SiteArchive } from "../../fixtures/site-archive.ts";
import { startGitHubStandIn, type GitHubStandIn } from "../../helpers/github-releases-stand-in.ts";

const repo = "btfmill/archive-test";
const token = "test-token";
const cli = new URL("../../../bin/btfmill.js", import.meta.url).pathname;

/** Every file under `root` but dot-named ones, with its sha256. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    const path = relative(root, join(entry.parentPath, entry.name));
    if (!entry.isFile() || path.split("/").some((segment) => segment.startsWith("."))) continue;
    files[path] = createHash("sha256")
      .update(await readFile(join(root, path)))
      .digest("hex");
  }
  return files;
}

describe("the archive as release assets", () => {
  let work: string;
  let archive: SiteArchive;
  let github: GitHubStandIn;
  let releases: GitHubReleases;
  let dirs = 0;
  const freshDir = () => join(work, `restored-${++dirs}`);
  const assetNames = () => github.releases[0]!.assets.map((asset) => asset.name).sort();
  const save = (maxAssetBytes = 2 ** 31 - 1) =>
    saveToRelease({ archive: archive.root, tag: "archive", releases, maxAssetBytes });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-release-"));
    archive = await makeSiteArchive(work);
  });
  beforeEach(async () => {
    await github?.close();
    github = await startGitHubStandIn({ repo, token });
    releases = new GitHubReleases(
      gitHubTarget(repo, { GITHUB_API_URL: github.apiUrl, GH_TOKEN: token } as NodeJS.ProcessEnv),
    );
  });
  afterAll(async () => {
    await github?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("saves one asset per source plus the state and an index with every asset's sha256, and restores the archive byte for byte", async () => {
    const result = await save();
    expect(result.parts.map((part) => part.id)).toEqual([
      "ubuntu/18.04/x86_64",
      "ubuntu/20.04/arm64",
      "ubuntu/20.04/x86_64",
      "state",
    ]);
    expect(assetNames()).toEqual([
      "btfmill-index.1.json",
      expect.stringMatching(/^state-[0-9a-f]{12}\.tar\.gz$/),
      expect.stringMatching(/^ubuntu_18\.04_x86_64-[0-9a-f]{12}\.tar$/),
      expect.stringMatching(/^ubuntu_20\.04_arm64-[0-9a-f]{12}\.tar$/),
      expect.stringMatching(/^ubuntu_20\.04_x86_64-[0-9a-f]{12}\.tar$/),
    ]);
    const stored = github.releases[0]!.assets;
    const index = parseReleaseIndex(
      stored.find((asset) => asset.name === "btfmill-index.1.json")!.data.toString(),
      "index",
    );
    for (const part of index.parts) {
      for (const asset of part.assets) {
        const data = stored.find((each) => each.name === asset.name)!.data;
        expect(createHash("sha256").update(data).digest("hex")).toBe(asset.sha256);
      }
    }
    // The archive's state: its root and each source's part.
    const sources = [
      ...new Set(Object.keys((await readManifest(archive.root)).kernels).map((kernel) => sourceOfKernel(kernel))),
    ].sort();
    expect(index.state.map((file) => file.path)).toEqual([
      "manifest.json",
      ...sources.map((source) =>
        expect.stringMatching(new RegExp(`^state/${source.replaceAll(".", "\\.")}/[0-9a-f]{64}\\.json$`)),
      ),
    ]);
    // A source's asset holds its folder and the minified files its kernels name, nothing of the others.
    const x86 = stored.find((asset) => asset.name.startsWith("ubuntu_20.04_x86_64-"))!;
    const listing = (await execa("tar", ["-t"], { input: x86.data })).stdout.split("\n");
    expect(listing).toContain("ubuntu/20.04/x86_64/5.8.0-63-generic.btf.tar.xz");
    expect(listing.filter((name) => name.startsWith("minified/")).length).toBeGreaterThan(0);
    expect(listing.filter((name) => !name.startsWith("ubuntu/20.04/x86_64/") && !name.startsWith("minified/"))).toEqual(
      [],
    );

    const restored = freshDir();
    const back = await restoreFromRelease({ archive: restored, tag: "archive", releases, filter: {} });
    expect(back.parts).toHaveLength(4);
    expect(await snapshot(restored)).toEqual(await snapshot(archive.root));
  });

  it("cuts a part larger than the asset limit into numbered pieces and restores it whole", async () => {
    const result = await save(1500);
    const x86 = result.parts.find((part) => part.id === "ubuntu/20.04/x86_64")!;
    expect(x86.size).toBeGreaterThan(3 * 1500);
    expect(x86.assets).toBe(Math.ceil(x86.size / 1500));
    const pieces = assetNames().filter((name) => name.startsWith("ubuntu_20.04_x86_64-"));
    expect(pieces[0]).toMatch(/\.tar\.001$/);
    expect(pieces).toHaveLength(x86.assets);
    for (const asset of github.releases[0]!.assets) {
      if (!asset.name.startsWith("btfmill-index.")) expect(asset.size).toBeLessThanOrEqual(1500);
    }
    const restored = freshDir();
    await restoreFromRelease({ archive: restored, tag: "archive", releases, filter: {} });
    expect(await snapshot(restored)).toEqual(await snapshot(archive.root));
  });

  it("fails with GitHub's 422 when an asset is over the limit GitHub enforces", async () => {
    github.maxAssetBytes = 3000;
    const failure = await save().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GitHubApiError);
    expect((failure as GitHubApiError).status).toBe(422);
    expect((failure as Error).message).toContain("size is too large");
    // No index was uploaded: a reader finds no index rather than one naming missing assets.
    expect(assetNames().some((name) => name.startsWith("btfmill-index."))).toBe(false);
  });

  it("a second save uploads only what changed: nothing but the index when nothing did, one asset and the index when one source did", async () => {
    await save();
    const first = assetNames();
    github.requests.length = 0;
    const unchanged = await save();
    expect(unchanged.uploaded.map((asset) => asset.name)).toEqual(["btfmill-index.2.json"]);
    expect(unchanged.deleted).toEqual(["btfmill-index.1.json"]);
    expect(github.requests.filter((request) => request.host === "uploads")).toHaveLength(1);

    const tarball = join(archive.root, "ubuntu/18.04/x86_64/5.8.0-63-generic.btf.tar.xz");
    const original = await readFile(tarball);
    try {
      await writeFile(tarball, Buffer.concat([original, Buffer.from("changed")]));
      const changed = await save();
      expect(changed.uploaded.map((asset) => asset.name)).toEqual([
        expect.stringMatching(/^ubuntu_18\.04_x86_64-[0-9a-f]{12}\.tar$/),
        "btfmill-index.3.json",
      ]);
      expect(changed.kept).toBe(3);
      expect(changed.deleted.sort()).toEqual([
        "btfmill-index.2.json",
        first.find((name) => name.startsWith("ubuntu_18.04_x86_64-"))!,
      ]);
      expect(assetNames()).toHaveLength(first.length);
    } finally {
      await writeFile(tarball, original);
    }
  });

  it("a save that fails part way leaves the previous index and every asset it names, so a restore still gets the archive", async () => {
    await save();
    const before = await snapshot(archive.root);
    const tarball = join(archive.root, "ubuntu/20.04/x86_64/5.8.0-63-generic.btf.tar.xz");
    const original = await readFile(tarball);
    try {
      await writeFile(tarball, Buffer.concat([original, Buffer.alloc(4000, 1)]));
      github.maxAssetBytes = 3000;
      await expect(save()).rejects.toBeInstanceOf(GitHubApiError);
    } finally {
      await writeFile(tarball, original);
      github.maxAssetBytes = 2 ** 31 - 1;
    }
    expect(assetNames().filter((name) => name.startsWith("btfmill-index."))).toEqual(["btfmill-index.1.json"]);
    const restored = freshDir();
    await restoreFromRelease({ archive: restored, tag: "archive", releases, filter: {} });
    expect(await snapshot(restored)).toEqual(before);
  });

  it("lists assets page by page through the Link header", async () => {
    github.maxPerPage = 2;
    await save();
    github.requests.length = 0;
    const result = await save();
    const lists = github.requests.filter((request) => request.method === "GET" && request.url.includes("/assets?"));
    // 6 assets, 2 a page, listed before the save and again before the deletions.
    expect(lists).toHaveLength(6);
    expect(lists.some((request) => request.url.startsWith("/repositories/1/"))).toBe(true);
    expect(result.kept).toBe(4);
    expect(result.deleted).toEqual(["btfmill-index.1.json"]);
  });

  it("a shard restores only its sources' assets (and the state), and its manifest keeps only those sources", async () => {
    await save();
    github.requests.length = 0;
    const restored = freshDir();
    const result = await restoreFromRelease({
      archive: restored,
      tag: "archive",
      releases,
      filter: { distro: "ubuntu", release: "20.04", arch: "x86_64" },
    });
    expect(result.parts.map((part) => part.id)).toEqual(["ubuntu/20.04/x86_64", "state"]);
    const downloads = github.requests.filter((request) => request.host === "download");
    // The index, the state and the one source, each through GitHub's 302, none carrying the token.
    expect(downloads.map((request) => decodeURIComponent(request.url.split("/")[2]!)).sort()).toEqual([
      "btfmill-index.1.json",
      expect.stringMatching(/^state-/),
      expect.stringMatching(/^ubuntu_20\.04_x86_64-/),
    ]);
    expect(downloads.every((request) => request.status === 200 && !request.authorized)).toBe(true);
    expect(github.requests.filter((request) => request.status === 302)).toHaveLength(3);
    const manifest = await readManifest(restored);
    expect(Object.keys(manifest.sources)).toEqual(["ubuntu/20.04/x86_64"]);
    expect(Object.keys(manifest.kernels).every((key) => key.startsWith("ubuntu/20.04/x86_64/"))).toBe(true);
    const files = Object.keys(await snapshot(restored));
    expect(files.filter((path) => path.startsWith("ubuntu/") && !path.startsWith("ubuntu/20.04/x86_64/"))).toEqual([]);
    // Every file the kept manifest names is there.
    for (const entry of Object.values(manifest.kernels)) {
      for (const path of [entry.tarball?.path, ...Object.values(entry.minified ?? {}).map((m) => m.file?.path)]) {
        if (path !== undefined) expect(files).toContain(path);
      }
    }
  });

  it("refuses to save an archive that lacks a source the release holds, unless told to drop it", async () => {
    await save();
    const partial = freshDir();
    await restoreFromRelease({ archive: partial, tag: "archive", releases, filter: { release: "20.04" } });
    const saveFrom = (dropMissing: boolean) =>
      saveToRelease({ archive: partial, tag: "archive", releases, maxAssetBytes: 2 ** 31 - 1, dropMissing });
    const refused = await saveFrom(false).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toContain("lacks source(s) the release holds: ubuntu/18.04/x86_64");
    expect(assetNames().filter((name) => name.startsWith("ubuntu_18.04_x86_64-"))).toHaveLength(1);
    const dropped = await saveFrom(true);
    expect(dropped.deleted).toContainEqual(expect.stringMatching(/^ubuntu_18\.04_x86_64-/));
    expect(assetNames().filter((name) => name.startsWith("ubuntu_18.04_x86_64-"))).toEqual([]);
  });

  it("a night that changes one of three sources restores that source alone, and a save keeping absent sources uploads it, the state and the index and deletes nothing else", async () => {
    await save();
    const before = assetNames();
    const night = "ubuntu/20.04/x86_64";
    const added = "ubuntu/20.04/x86_64/5.8.0-64-generic";
    // A shard's result: its distro restored as a shard does, one new kernel converted.
    const shard = freshDir();
    await restoreFromRelease({
      archive: shard,
      tag: "archive",
      releases,
      filter: { release: "20.04", arch: "x86_64" },
    });
    const shardManifest = await readManifest(shard);
    const template = shardManifest.kernels[archive.keys.x86]!;
    const tarball = `${added}.btf.tar.xz`;
    await writeFile(
      join(shard, tarball),
      Buffer.concat([await readFile(join(shard, template.tarball!.path)), Buffer.from("new")]),
    );
    shardManifest.kernels[added] = {
      ...template,
      key: { ...template.key, kernel: "5.8.0-64-generic" },
      tarball: { path: tarball, ...(await digestFile(join(shard, tarball))) },
      updatedAt: "2026-11-26T08:00:00.000Z",
    };
    await writeManifest(shard, shardManifest);
    const plan = join(work, "plan.json");
    await writeFile(
      plan,
      JSON.stringify({
        sources: [],
        kernels: [
          { kernel: added, action: "new", url: "http://127.0.0.1/k.ddeb", size: 1 },
          { kernel: archive.keys.otherRelease, action: "unchanged", url: "http://127.0.0.1/o.ddeb", size: 1 },
        ],
        minify: [],
      }),
    );

    // The publish job: the state and the night's source, from the plan.
    github.requests.length = 0;
    const publish = freshDir();
    const env = { GH_TOKEN: token, GITHUB_API_URL: github.apiUrl, CI: "true" };
    const restored = await execa(
      process.execPath,
      [cli, "release", "restore", "--repo", repo, "--archive", publish, "--sources-from", plan, "--json"],
      { env, reject: false },
    );
    expect(restored.stderr).toBe("");
    expect(JSON.parse(restored.stdout).parts.map((part: { id: string }) => part.id)).toEqual([night, "state"]);
    const downloads = github.requests.filter((request) => request.host === "download");
    expect(downloads.map((request) => decodeURIComponent(request.url.split("/")[2]!)).sort()).toEqual([
      "btfmill-index.1.json",
      expect.stringMatching(/^state-/),
      expect.stringMatching(/^ubuntu_20\.04_x86_64-/),
    ]);
    // The whole state came back (the regression check's previous manifest), the other sources' files did not.
    const previous = await readManifest(publish);
    expect(Object.keys(previous.kernels).sort()).toEqual(
      Object.keys((await readManifest(archive.root)).kernels).sort(),
    );
    const files = Object.keys(await snapshot(publish));
    expect(files.filter((path) => path.startsWith("ubuntu/") && !path.startsWith(`${night}/`))).toEqual([]);

    await mergeArchives([shard], publish);
    github.requests.length = 0;
    const saved = await saveToRelease({
      archive: publish,
      tag: "archive",
      releases,
      maxAssetBytes: 2 ** 31 - 1,
      keepAbsent: true,
    });
    expect(saved.keptAbsent).toEqual(["ubuntu/18.04/x86_64", "ubuntu/20.04/arm64"]);
    expect(saved.uploaded.map((asset) => asset.name)).toEqual([
      expect.stringMatching(/^ubuntu_20\.04_x86_64-/),
      expect.stringMatching(/^state-/),
      "btfmill-index.2.json",
    ]);
    expect(saved.deleted.sort()).toEqual(
      before.filter(
        (name) =>
          name.startsWith("btfmill-index.") || name.startsWith("state-") || name.startsWith("ubuntu_20.04_x86_64-"),
      ),
    );
    expect(github.requests.filter((request) => request.host === "uploads")).toHaveLength(3);
    for (const name of before.filter(
      (each) => each.startsWith("ubuntu_18.04_") || each.startsWith("ubuntu_20.04_arm64"),
    )) {
      expect(assetNames()).toContain(name);
    }

    // The next full restore: every source's kernels, the new one too, and every file they name.
    const whole = freshDir();
    await restoreFromRelease({ archive: whole, tag: "archive", releases, filter: {} });
    const manifest = await readManifest(whole);
    expect(Object.keys(manifest.kernels).sort()).toEqual([...Object.keys(previous.kernels), added].sort());
    const restoredFiles = await snapshot(whole);
    for (const entry of Object.values(manifest.kernels)) {
      for (const path of [entry.tarball?.path, ...Object.values(entry.minified ?? {}).map((m) => m.file?.path)]) {
        if (path !== undefined) expect(restoredFiles[path]).toBeDefined();
      }
    }
    const original = await snapshot(archive.root);
    for (const [path, sha256] of Object.entries(original)) {
      if (path.startsWith("ubuntu/18.04/") || path.startsWith("ubuntu/20.04/arm64/"))
        expect(restoredFiles[path]).toBe(sha256);
    }
  });

  it("restore --sources-from takes the sources of kernels to record or minify again, --source adds one, and a malformed source or a save option on restore is refused", async () => {
    await save();
    const plan = join(work, "plan-minify.json");
    await writeFile(
      plan,
      JSON.stringify({
        sources: [],
        kernels: [{ kernel: archive.keys.x86, action: "unchanged", url: "http://127.0.0.1/x.ddeb", size: 1 }],
        minify: [{ kernel: archive.keys.arm64, sets: ["net"] }],
      }),
    );
    const env = { GH_TOKEN: token, GITHUB_API_URL: github.apiUrl, CI: "true" };
    const restore = (...args: string[]) =>
      execa(process.execPath, [cli, "release", "restore", "--repo", repo, "--archive", freshDir(), ...args], {
        env,
        reject: false,
      });
    const fromPlan = await restore("--sources-from", plan, "--json");
    expect(JSON.parse(fromPlan.stdout).parts.map((part: { id: string }) => part.id)).toEqual([
      "ubuntu/20.04/arm64",
      "state",
    ]);
    const withSource = await restore("--sources-from", plan, "--source", "ubuntu/18.04/x86_64", "--json");
    expect(JSON.parse(withSource.stdout).parts.map((part: { id: string }) => part.id)).toEqual([
      "ubuntu/18.04/x86_64",
      "ubuntu/20.04/arm64",
      "state",
    ]);
    const malformed = await restore("--source", "ubuntu/18.04");
    expect(malformed.exitCode).toBe(2);
    expect(malformed.stderr).toContain("--source ubuntu/18.04 is not <distro>/<release>/<arch>");
    const mixed = await restore("--source", "ubuntu/18.04/x86_64", "--distro", "ubuntu");
    expect(mixed.exitCode).toBe(2);
    const saveOption = await restore("--keep-absent");
    expect(saveOption.exitCode).toBe(2);
  });

  it("a save keeping absent sources refuses one whose kernels changed while its files are not in the archive", async () => {
    await save();
    const partial = freshDir();
    await restoreFromRelease({
      archive: partial,
      tag: "archive",
      releases,
      filter: { sources: ["ubuntu/20.04/x86_64"] },
    });
    const manifest = await readManifest(partial);
    const entry = manifest.kernels[archive.keys.otherRelease]!;
    manifest.kernels[archive.keys.otherRelease] = { ...entry, updatedAt: "2026-11-27T08:00:00.000Z" };
    await writeManifest(partial, manifest);
    const before = assetNames();
    const refused = await saveToRelease({
      archive: partial,
      tag: "archive",
      releases,
      maxAssetBytes: 2 ** 31 - 1,
      keepAbsent: true,
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toContain(
      "whose kernels changed since the release's index: ubuntu/18.04/x86_64",
    );
    expect((refused as ConfigError).hint).toContain("--source ubuntu/18.04/x86_64");
    expect(assetNames()).toEqual(before);
  });

  it("refuses a tampered asset with an IntegrityError naming it, and writes none of its files", async () => {
    await save();
    const asset = github.releases[0]!.assets.find((each) => each.name.startsWith("ubuntu_20.04_arm64-"))!;
    asset.data = Buffer.from(asset.data);
    asset.data[600] = asset.data[600]! ^ 0xff;
    const restored = freshDir();
    const failure = await restoreFromRelease({
      archive: restored,
      tag: "archive",
      releases,
      filter: { arch: "arm64" },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IntegrityError);
    expect((failure as IntegrityError).package).toBe(asset.name);
    expect((failure as Error).message).toContain(asset.name);
    expect(Object.keys(await snapshot(restored)).filter((path) => path.startsWith("ubuntu/20.04/arm64/"))).toEqual([]);
  });

  it("restores nothing and leaves an empty archive when the repository has no release yet", async () => {
    const restored = freshDir();
    const result = await restoreFromRelease({ archive: restored, tag: "archive", releases, filter: {} });
    expect(result).toMatchObject({ release: undefined, generation: undefined, parts: [] });
    expect(await readdir(restored)).toEqual([]);
  });

  it("restores from the single btf-archive.tar.zst of before, and the next save replaces it with per-source assets", async () => {
    const packed = await execa(
      "bash",
      ["-c", 'tar -c --transform "s,^archive,btf-archive," -C "$0" archive | zstd -q -19', work],
      { encoding: "buffer" },
    );
    github.addAsset("archive", "btf-archive.tar.zst", Buffer.from(packed.stdout));
    const restored = freshDir();
    const result = await restoreFromRelease({ archive: restored, tag: "archive", releases, filter: { arch: "arm64" } });
    expect(result.generation).toBe(0);
    expect(result.parts.map((part) => part.id)).toEqual(["ubuntu/20.04/arm64", "state"]);
    expect(Object.keys((await readManifest(restored)).sources)).toEqual(["ubuntu/20.04/arm64"]);
    const whole = freshDir();
    await restoreFromRelease({ archive: whole, tag: "archive", releases, filter: {} });
    expect(await snapshot(whole)).toEqual(await snapshot(archive.root));
    const saved = await saveToRelease({ archive: whole, tag: "archive", releases, maxAssetBytes: 2 ** 31 - 1 });
    expect(saved.deleted).toEqual(["btf-archive.tar.zst"]);
    expect(assetNames()).toHaveLength(5);
  });

  it("btfmill release save and restore run from the command line with the token and API from the environment", async () => {
    const env = { GH_TOKEN: token, GITHUB_API_URL: github.apiUrl, CI: "true" };
    const saved = await execa(
      process.execPath,
      [cli, "release", "save", "--repo", repo, "--archive", archive.root, "--max-asset-bytes", "4KiB", "--json"],
      { env, reject: false },
    );
    expect(saved.stderr).toBe("");
    expect(saved.exitCode).toBe(0);
    const result = JSON.parse(saved.stdout) as { generation: number; uploaded: unknown[] };
    expect(result.generation).toBe(1);
    expect(github.releases[0]!.assets.every((asset) => asset.size <= 4096)).toBe(true);
    const restored = freshDir();
    const back = await execa(
      process.execPath,
      [cli, "release", "restore", "--repo", repo, "--archive", restored, "--distro", "ubuntu", "--release", "18.04"],
      { env, reject: false },
    );
    expect(back.exitCode).toBe(0);
    expect(back.stdout).toContain("ubuntu/18.04/x86_64");
    expect(Object.keys((await readManifest(restored)).sources)).toEqual(["ubuntu/18.04/x86_64"]);
    const noToken = await execa(process.execPath, [cli, "release", "save", "--repo", repo, "--archive", restored], {
      env: { GITHUB_API_URL: github.apiUrl, GH_TOKEN: "", GITHUB_TOKEN: "" },
      reject: false,
    });
    expect(noToken.exitCode).toBe(2);
    expect(noToken.stderr).toContain("GH_TOKEN or GITHUB_TOKEN");
  });
});
