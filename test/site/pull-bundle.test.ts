// The bundle path of pull on a bundle made by GNU tar and xz: only wanted members whose size and
// sha256 are the manifest's are written; a bundle that is not the manifest's, or that unpacks to
// more than it says it holds, replaces nothing.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IntegrityError } from "../../archive/errors.ts";
import { sha256Hex } from "../../archive/file-digest.ts";
import type { CdnBundle, CdnFile } from "../../site/cdn-manifest.ts";
import { pullFromBundle, type BundleWant } from "../../site/pull-bundle.ts";
import { openSite } from "../../site/site-source.ts";
import { patterned } from "../fixtures/patterned-bytes.ts";
import { rejection } from "../helpers/rejection.ts";

const keys = [
  "ubuntu/20.04/x86_64/5.8.0-63-generic",
  "ubuntu/20.04/x86_64/5.8.0-64-generic",
  "debian/12/x86_64/6.1.0-47-amd64",
];
const contents = keys.map((_, index) => patterned(20_000 + index * 1000, index + 1));
const bundlePath = "bundles/all/x86_64.tar.xz";

let work: string;
let site: string;
let bundle: CdnBundle;

const fileOf = (index: number): CdnFile => ({
  path: `${keys[index]}.btf`,
  sha256: sha256Hex(contents[index]!),
  size: contents[index]!.length,
});

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-pull-bundle-"));
  site = join(work, "site");
  const staged = join(work, "staged");
  for (const [index, key] of keys.entries()) {
    await mkdir(join(staged, key, ".."), { recursive: true });
    await writeFile(join(staged, `${key}.btf`), contents[index]!);
  }
  await mkdir(join(site, "bundles", "all"), { recursive: true });
  await execa("tar", ["-cJf", join(site, bundlePath), "-C", staged, ...keys.map((key) => `${key}.btf`)]);
  const bytes = await readFile(join(site, bundlePath));
  bundle = {
    path: bundlePath,
    sha256: sha256Hex(bytes),
    size: bytes.length,
    set: "all",
    arch: "x86_64",
    files: keys.length,
    contentSize: contents.reduce((sum, data) => sum + data.length, 0),
  };
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function outFolder(name: string): Promise<string> {
  const out = join(work, name);
  await mkdir(out, { recursive: true });
  return out;
}

describe("pullFromBundle", () => {
  it("writes the wanted members with the manifest's bytes, and nothing else", async () => {
    const out = await outFolder("wanted");
    const wants: BundleWant[] = [0, 2].map((index) => ({
      key: keys[index]!,
      file: fileOf(index),
      target: join(out, `${index}.btf`),
    }));
    const { written, bytes } = await pullFromBundle(openSite(site), bundle, wants);
    expect([...written].sort()).toEqual([keys[2], keys[0]].sort());
    expect(bytes).toBe(bundle.size);
    expect((await readFile(join(out, "0.btf"))).equals(contents[0]!)).toBe(true);
    expect((await readFile(join(out, "2.btf"))).equals(contents[2]!)).toBe(true);
    expect((await readdir(out)).sort()).toEqual(["0.btf", "2.btf"]);
  });

  it("leaves a member whose sha256 or size is not the manifest's to the per-file path", async () => {
    const out = await outFolder("mismatch");
    const wants: BundleWant[] = [
      { key: keys[0]!, file: { ...fileOf(0), sha256: "0".repeat(64) }, target: join(out, "0.btf") },
      { key: keys[1]!, file: { ...fileOf(1), size: fileOf(1).size + 1 }, target: join(out, "1.btf") },
      { key: keys[2]!, file: fileOf(2), target: join(out, "2.btf") },
    ];
    const { written } = await pullFromBundle(openSite(site), bundle, wants);
    expect([...written]).toEqual([keys[2]]);
    expect(await readdir(out)).toEqual(["2.btf"]);
  });

  it("refuses a bundle that is not the manifest's before opening it, replacing nothing", async () => {
    const out = await outFolder("altered");
    await writeFile(join(out, "0.btf"), "previous");
    const error = await rejection(
      pullFromBundle(openSite(site), { ...bundle, sha256: "f".repeat(64) }, [
        { key: keys[0]!, file: fileOf(0), target: join(out, "0.btf") },
      ]),
    );
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toMatch(/the manifest says f{64} \(\d+\)$/);
    expect(await readFile(join(out, "0.btf"), "utf8")).toBe("previous");
  });

  it("stops a bundle that unpacks to more than the manifest says it holds, with no error escaping from the entry it cut off", async () => {
    const out = await outFolder("bomb");
    // Repeated: the entry being skipped when the extract fails differs from run to run, and an
    // error it emitted with nobody listening would fail the whole test run.
    for (let run = 0; run < 20; run++) {
      const error = await rejection(
        pullFromBundle(openSite(site), { ...bundle, contentSize: 1000, files: 1 }, [
          { key: keys[2]!, file: fileOf(2), target: join(out, "2.btf") },
        ]),
      );
      expect(error).toBeInstanceOf(IntegrityError);
      expect(error.message).toMatch(/unpacks to more than the 1000 bytes of files the manifest says it holds/);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await readdir(out)).toEqual([]);
  });
});
