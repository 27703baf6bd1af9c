// A kill between replacing a kernel's tarball and recording its new entry leaves a file whose
// sha256 its entry does not have. The note written before the replacement lets the next run find
// exactly those files and remove them, so the plan redoes the kernel instead of trusting them.
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import { emptyManifest } from "../../archive/manifest.ts";
import { openArchiveState, writeManifest, type ArchiveState } from "../../archive/state.ts";
import { noteReplacement, settleReplacements } from "../../archive/replacements.ts";

describe("settleReplacements", () => {
  let root: string;
  const path = "debian/12/x86_64/6.1.0-1-amd64.btf.tar.xz";
  // The archive's state on disk, opened with no part loaded: settling loads the noted file's part.
  const manifestNaming = async (content: string): Promise<ArchiveState> => {
    await writeFile(join(root, path), content);
    const manifest = emptyManifest();
    manifest.kernels["debian/12/x86_64/6.1.0-1-amd64"] = {
      key: { distro: "debian", release: "12", arch: "x86_64", kernel: "6.1.0-1-amd64" },
      flavor: "amd64",
      status: "ok",
      tarball: { path, ...(await digestFile(join(root, path))) },
      package: {
        name: "p",
        version: "1",
        url: "http://127.0.0.1/p.deb",
        sha256: "0".repeat(64),
        size: 1,
        origin: "test",
      },
      updatedAt: "2026-01-01T00:00:00.000Z",
    };
    await writeManifest(root, manifest);
    return openArchiveState(root);
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "btfmill-replacing-"));
    await mkdir(join(root, "debian/12/x86_64"), { recursive: true });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("removes a noted file that was replaced behind its entry, and only that", async () => {
    const manifest = await manifestNaming("old tarball");
    await noteReplacement(root, path);
    await writeFile(join(root, path), "new tarball, entry never recorded");
    expect(await settleReplacements(root, manifest)).toEqual([path]);
    await expect(stat(join(root, path))).rejects.toThrow();
    expect(await readdir(join(root, ".replacing"))).toEqual([]);
  });

  it("keeps a noted file whose entry was recorded, and a replaced file nobody noted", async () => {
    const manifest = await manifestNaming("recorded tarball");
    await noteReplacement(root, path);
    expect(await settleReplacements(root, manifest)).toEqual([]);
    expect(manifest.sourceIds()).toEqual(["debian/12/x86_64"]);
    expect(Object.keys(manifest.manifest.kernels)).toEqual(["debian/12/x86_64/6.1.0-1-amd64"]);
    expect((await stat(join(root, path))).isFile()).toBe(true);
    await writeFile(join(root, path), "changed without a note");
    expect(await settleReplacements(root, manifest)).toEqual([]);
    expect((await stat(join(root, path))).isFile()).toBe(true);
  });

  it("does nothing in an archive without notes", async () => {
    expect(await settleReplacements(root, await openArchiveState(root))).toEqual([]);
  });
});
