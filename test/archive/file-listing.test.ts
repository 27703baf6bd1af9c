// Archive files found from one listing per folder: a snapshot taken when a folder is first asked about.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fileListing, pathExists } from "../../archive/file-listing.ts";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "btfmill-listing-"));
  await mkdir(join(root, "debian", "12", "x86_64"), { recursive: true });
  await writeFile(join(root, "debian", "12", "x86_64", "6.1.0-47-cloud-amd64.btf.tar.xz"), "x");
  await writeFile(join(root, "manifest.json"), "{}");
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("fileListing", () => {
  it("says which archive paths exist, at the top and in nested folders", async () => {
    const listing = fileListing(root);
    expect(await listing.has("debian/12/x86_64/6.1.0-47-cloud-amd64.btf.tar.xz")).toBe(true);
    expect(await listing.has("debian/12/x86_64/6.1.0-48-cloud-amd64.btf.tar.xz")).toBe(false);
    expect(await listing.has("manifest.json")).toBe(true);
  });

  it("answers no for a path in a folder that does not exist, or under a file", async () => {
    const listing = fileListing(root);
    expect(await listing.has("minified/ab/ab12.btf")).toBe(false);
    expect(await listing.has("manifest.json/inner")).toBe(false);
  });

  it("keeps its snapshot of a listed folder: files written later are seen only by a new listing", async () => {
    const listing = fileListing(root);
    const folder = "debian/12/x86_64";
    expect(await listing.has(`${folder}/later.btf.tar.xz`)).toBe(false);
    await writeFile(join(root, folder, "later.btf.tar.xz"), "y");
    expect(await listing.has(`${folder}/later.btf.tar.xz`)).toBe(false);
    expect(await fileListing(root).has(`${folder}/later.btf.tar.xz`)).toBe(true);
  });

  it("lists a folder first asked about after a write, so that write is seen", async () => {
    const listing = fileListing(root);
    expect(await listing.has("manifest.json")).toBe(true);
    await mkdir(join(root, "minified", "ab"), { recursive: true });
    await writeFile(join(root, "minified", "ab", "ab12.btf"), "z");
    expect(await listing.has("minified/ab/ab12.btf")).toBe(true);
  });
});

describe("pathExists", () => {
  it("tells an existing file or folder from an absent path", async () => {
    expect(await pathExists(join(root, "manifest.json"))).toBe(true);
    expect(await pathExists(join(root, "debian"))).toBe(true);
    expect(await pathExists(join(root, "absent.json"))).toBe(false);
  });
});
