// merge goes source by source: parts that come out the same are not rewritten, the root is written
// once at the end, and a damaged input leaves the output's root as it was.
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { IntegrityError } from "../../archive/errors.ts";
import { sha256Hex } from "../../archive/file-digest.ts";
import { emptyManifest, type Manifest, type ManifestEntry } from "../../archive/manifest.ts";
import { openArchiveState, readManifest, writeManifest } from "../../archive/state.ts";
import { mergeArchives } from "../../pipeline/merge.ts";

const epoch = new Date(0).toISOString();

function entry(release: string, kernel: string, status: "ok" | "failed", updatedAt: string): ManifestEntry {
  const path = `debian/${release}/x86_64/${kernel}.btf.tar.xz`;
  const content = `${release}/${kernel}/${updatedAt}`;
  return {
    key: { distro: "debian", release, arch: "x86_64", kernel },
    flavor: "cloud-amd64",
    status,
    ...(status === "ok"
      ? { tarball: { path, sha256: sha256Hex(content), size: content.length } }
      : { reason: "FetchError: reset" }),
    package: {
      name: kernel,
      version: "1",
      url: "http://127.0.0.1/x.deb",
      sha256: "a".repeat(64),
      size: 1,
      origin: "x",
    },
    updatedAt,
  };
}

// An archive with these entries, each ok entry's tarball holding the text its sha256 was taken of.
async function archiveOf(dir: string, entries: ManifestEntry[]): Promise<Manifest> {
  const manifest = emptyManifest();
  for (const item of entries) {
    const { distro, release, arch, kernel } = item.key;
    manifest.kernels[`${distro}/${release}/${arch}/${kernel}`] = item;
    manifest.sources[`${distro}/${release}/${arch}`] = { status: "ok", checkedAt: item.updatedAt };
    if (item.tarball) {
      await mkdir(dirname(join(dir, item.tarball.path)), { recursive: true });
      await writeFile(join(dir, item.tarball.path), `${release}/${kernel}/${item.updatedAt}`);
    }
    if (item.updatedAt > manifest.updatedAt) manifest.updatedAt = item.updatedAt;
  }
  await mkdir(dir, { recursive: true });
  await writeManifest(dir, manifest);
  return manifest;
}

async function partFiles(dir: string): Promise<Map<string, number>> {
  const files = (await readdir(join(dir, "state"), { recursive: true, withFileTypes: true })).filter((file) =>
    file.isFile(),
  );
  const times = new Map<string, number>();
  for (const file of files) {
    const path = join(file.parentPath, file.name);
    times.set(path.slice(dir.length + 1), (await stat(path)).mtimeMs);
  }
  return times;
}

describe("merge, source by source", () => {
  it("rewrites only the parts whose entries changed and keeps every other part's file as it was", async () => {
    const work = await mkdtemp(join(tmpdir(), "btfmill-merge-"));
    const later = "2026-01-01T00:00:00.000Z";
    await archiveOf(join(work, "a"), [entry("11", "k1", "ok", epoch), entry("12", "k1", "failed", epoch)]);
    await archiveOf(join(work, "b"), [entry("12", "k1", "ok", epoch), entry("13", "k1", "ok", epoch)]);
    const out = join(work, "out");
    const first = await mergeArchives([join(work, "a"), join(work, "b")], out);
    expect(first).toMatchObject({ kernels: 3, filesCopied: 3 });
    expect(first.conflicts).toEqual([
      { kernel: "debian/12/x86_64/k1", kept: join(work, "b"), over: [join(work, "a")] },
    ]);
    const merged = await readManifest(out);
    expect(Object.values(merged.kernels).map((kept) => kept.status)).toEqual(["ok", "ok", "ok"]);
    const before = await partFiles(out);
    expect([...before.keys()].map((path) => path.split("/").slice(0, 4).join("/")).sort()).toEqual([
      "state/debian/11/x86_64",
      "state/debian/12/x86_64",
      "state/debian/13/x86_64",
    ]);

    // A shard that converted 13's kernel again: only 13's part changes, the others stay the same files.
    await archiveOf(join(work, "c"), [entry("13", "k1", "ok", later)]);
    const rootBefore = await readFile(join(out, "manifest.json"), "utf8");
    const second = await mergeArchives([join(work, "c"), join(work, "a")], out);
    expect(second).toMatchObject({ kernels: 3, filesCopied: 1 });
    const after = await partFiles(out);
    for (const [path, mtime] of before) {
      if (path.startsWith("state/debian/13/")) expect(after.has(path)).toBe(false);
      else expect(after.get(path)).toBe(mtime);
    }
    expect([...after.keys()].filter((path) => path.startsWith("state/debian/13/"))).toHaveLength(1);
    expect(await readFile(join(out, "manifest.json"), "utf8")).not.toBe(rootBefore);
    expect((await readManifest(out)).kernels["debian/13/x86_64/k1"]?.updatedAt).toBe(later);
  });

  it("leaves the output's root as it was when an input's later source is damaged, after earlier sources were merged", async () => {
    const work = await mkdtemp(join(tmpdir(), "btfmill-merge-"));
    const later = "2026-01-01T00:00:00.000Z";
    const out = join(work, "out");
    await archiveOf(out, [entry("11", "k1", "ok", epoch), entry("12", "k1", "ok", epoch)]);
    const shard = await archiveOf(join(work, "shard"), [
      entry("11", "k1", "ok", later),
      entry("12", "k1", "ok", later),
    ]);
    await writeFile(join(work, "shard", shard.kernels["debian/12/x86_64/k1"]!.tarball!.path), "damaged");
    const root = await readFile(join(out, "manifest.json"), "utf8");
    await expect(mergeArchives([join(work, "shard")], out)).rejects.toThrow(IntegrityError);
    expect(await readFile(join(out, "manifest.json"), "utf8")).toBe(root);
    // Every part the root names is there, with the entries it had.
    expect(Object.values((await readManifest(out)).kernels).map((kept) => kept.updatedAt)).toEqual([epoch, epoch]);
  });

  it("a flushed part is written under its content's name, named by the root only from the next commit", async () => {
    const work = await mkdtemp(join(tmpdir(), "btfmill-merge-"));
    await archiveOf(work, [entry("11", "k1", "failed", epoch)]);
    const state = await openArchiveState(work);
    await state.load(["debian/11/x86_64"]);
    state.record("debian/11/x86_64/k2", entry("11", "k2", "failed", epoch));
    await state.flush("debian/11/x86_64");
    expect(state.manifest.kernels).toEqual({});
    await expect(state.load(["debian/11/x86_64"])).rejects.toThrow(/flushed/);
    expect(Object.keys((await readManifest(work)).kernels)).toEqual(["debian/11/x86_64/k1"]);
    expect(await readdir(join(work, "state/debian/11/x86_64"))).toHaveLength(2);
    await state.commit();
    expect(Object.keys((await readManifest(work)).kernels)).toEqual(["debian/11/x86_64/k1", "debian/11/x86_64/k2"]);
    expect(await readdir(join(work, "state/debian/11/x86_64"))).toHaveLength(1);
  });
});
