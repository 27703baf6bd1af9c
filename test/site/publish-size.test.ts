// publish reports the site's size by what takes the room and refuses a site over the host's limit
// (GitHub Pages: 1 GB) before switching it in: from the plan before writing anything when the
// placed files alone pass it, else on the finished tree, and the published site stays as it was.
import { cp, lstat, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifest, writeManifest } from "../../archive/state.ts";
import { publishSite } from "../../site/publish.ts";
import { SiteTooLargeError, githubPagesMaxBytes } from "../../site/publish-size.ts";
import { makeSiteArchive, type SiteArchive } from "../fixtures/site-archive.ts";
import { runBtfmill } from "../helpers/cli.ts";

async function treeBytes(tree: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const entry of await readdir(tree, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    bytes += (await lstat(join(entry.parentPath, entry.name))).size;
    files += 1;
  }
  return { bytes, files };
}

describe("the published site's size", () => {
  let work: string;
  let archive: SiteArchive;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-publish-size-"));
    archive = await makeSiteArchive(work);
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("reports every byte of the tree, split into the root, each set, bundles, full tarballs and metadata", async () => {
    const out = join(work, "site-sized");
    const { tree, size } = await publishSite({ archive: archive.root, out, full: true });
    expect(size.maxBytes).toBe(githubPagesMaxBytes);
    expect({ bytes: size.bytes, files: size.files }).toEqual(await treeBytes(tree));
    expect(size.shares.map((share) => share.what).sort()).toEqual([
      "bundles",
      "full/ (--full tarballs)",
      "manifests, indexes and page",
      "root (minified BTF, all sets)",
      "set net",
      "set probes",
    ]);
    expect(size.shares.reduce((n, share) => n + share.bytes, 0)).toBe(size.bytes);
    const root = size.shares.find((share) => share.what === "root (minified BTF, all sets)")!;
    expect(root.files).toBe(3);
  });

  it("fails on the finished tree when bundles and manifests pass the limit, and keeps the published site", async () => {
    const out = join(work, "site-kept");
    const now = new Date(0);
    const first = await publishSite({ archive: archive.root, out, full: false, now });
    const placed = first.size.shares
      .filter((share) => share.what.startsWith("root") || share.what.startsWith("set "))
      .reduce((n, share) => n + share.bytes, 0);
    // Room for the placed files, not for the rest: the plan passes, the finished tree does not.
    const failure = await publishSite({ archive: archive.root, out, full: false, maxBytes: placed + 10, now }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(SiteTooLargeError);
    expect((failure as Error).message).toMatch(/^the site would be .* over the limit of .*: .*bundles/);
    expect((failure as SiteTooLargeError).size.bytes).toBe(first.size.bytes);
    expect(await readlink(out)).toBe(first.tree.slice(work.length + 1));
    expect((await readdir(work)).filter((name) => name.endsWith(".partial"))).toEqual([]);
  });

  it("fails before writing anything when --full tarballs alone pass the limit, naming them", async () => {
    const out = join(work, "site-full-refused");
    const first = await publishSite({ archive: archive.root, out, full: false });
    const placed = first.size.shares
      .filter((share) => share.what.startsWith("root") || share.what.startsWith("set "))
      .reduce((n, share) => n + share.bytes, 0);
    const before = (await readdir(work)).sort();
    const failure = await publishSite({ archive: archive.root, out, full: true, maxBytes: placed + 1 }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(SiteTooLargeError);
    expect((failure as Error).message).toMatch(/^the site would hold at least .*full\/ \(--full tarballs\)/);
    expect((await readdir(work)).sort()).toEqual(before);
    expect(await readlink(out)).toBe(first.tree.slice(work.length + 1));
  });

  it("names the root's full BTF when no object set is registered", async () => {
    const fullOnly = join(work, "archive-no-sets");
    await cp(archive.root, fullOnly, { recursive: true });
    const manifest = await readManifest(fullOnly);
    for (const entry of Object.values(manifest.kernels)) delete entry.minified;
    await writeManifest(fullOnly, manifest);
    const failure = await publishSite({
      archive: fullOnly,
      out: join(work, "site-no-sets"),
      full: false,
      maxBytes: 1000,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SiteTooLargeError);
    const { shares } = (failure as SiteTooLargeError).size;
    expect(shares.map((share) => share.what)).toEqual(["root (full BTF, no object set registered)"]);
    expect((failure as SiteTooLargeError).hint).toContain("register object sets");
  });

  it("btfmill publish prints the size, takes the limit from --max-bytes or the config's site.maxBytes, and exits 1 past it", async () => {
    const config = join(work, "sized.json");
    await writeFile(config, JSON.stringify({ archive: archive.root, site: { maxBytes: 2000 } }));
    const out = join(work, "site-cli");
    const refused = await runBtfmill(["publish", "--config", config, "--out", out]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("SiteTooLargeError: the site would");
    expect(refused.stderr).toContain("over the limit of 2.00 KB");
    const published = await runBtfmill(["publish", "--config", config, "--out", out, "--max-bytes", "1GB", "--json"]);
    expect(published.exitCode).toBe(0);
    const { size } = JSON.parse(published.stdout) as { size: { bytes: number; maxBytes: number } };
    expect(size.maxBytes).toBe(1_000_000_000);
    expect(size.bytes).toBe((await treeBytes(join(work, await readlink(out)))).bytes);
    const text = await runBtfmill(["publish", "--config", config, "--out", out, "--max-bytes", "1GB"]);
    expect(text.stdout).toMatch(
      /^site: [\d.]+ KB in \d+ files \(limit 1\.00 GB\): .*root \(minified BTF, all sets\) [\d.]+ (KB|bytes) in 3 files/m,
    );
    const bad = await runBtfmill(["publish", "--config", config, "--out", out, "--max-bytes", "lots"]);
    expect(bad.exitCode).toBe(2);
  });
});
