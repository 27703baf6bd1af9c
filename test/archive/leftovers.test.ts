// What a killed run leaves is cleared before the next starts: the scratch folder and the temp
// files of writes never renamed, wherever they are; nothing else.
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempPathFor } from "../../archive/atomic-write.ts";
import { scratchDir } from "../../archive/layout.ts";
import { removeLeftovers } from "../../archive/leftovers.ts";

let root: string;

const files = async () =>
  (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "btfmill-leftovers-"));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("removeLeftovers", () => {
  it("removes the scratch folder and unfinished writes at any depth, and keeps every finished file", async () => {
    const kernelDir = join(root, "debian", "12", "x86_64");
    await mkdir(kernelDir, { recursive: true });
    await mkdir(join(scratchDir(root), "debian-12-x86_64-6.1.0-47"), { recursive: true });
    await writeFile(join(scratchDir(root), "debian-12-x86_64-6.1.0-47", "vmlinux"), "dwarf");
    const tarball = join(kernelDir, "6.1.0-47-cloud-amd64.btf.tar.xz");
    await writeFile(tarball, "done");
    await writeFile(tempPathFor(tarball), "half");
    await writeFile(tempPathFor(join(root, "manifest.json")), "{");
    await writeFile(join(root, "manifest.json"), "{}");
    // Hidden, but not of the temp form: someone's own file.
    await writeFile(join(kernelDir, ".keep"), "");

    await removeLeftovers(root);

    expect(await files()).toEqual([
      "debian/12/x86_64/.keep",
      "debian/12/x86_64/6.1.0-47-cloud-amd64.btf.tar.xz",
      "manifest.json",
    ]);
    expect(await readdir(root)).not.toContain(".work");
  });

  it("leaves an archive with nothing left over as it is", async () => {
    await writeFile(join(root, "manifest.json"), "{}");
    await removeLeftovers(root);
    expect(await files()).toEqual(["manifest.json"]);
  });
});
