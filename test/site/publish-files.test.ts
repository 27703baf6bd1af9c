// Archive files placed in a new tree: hard-linked when they share the filesystem, the full BTF
// taken out of its BTFHub tarball, and every one checked against the archive manifest's digest.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBtfTarball } from "../../archive/btf-tarball.ts";
import { IntegrityError } from "../../archive/errors.ts";
import { digestFile, sha256Hex } from "../../archive/file-digest.ts";
import { placeFiles } from "../../site/publish-files.ts";
import { patterned } from "../fixtures/patterned-bytes.ts";
import { rejection } from "../helpers/rejection.ts";

let work: string;
let archive: string;
const minified = patterned(20_000, 4);
const full = patterned(60_000, 5);
const minifiedPath = `minified/${sha256Hex(minified).slice(0, 2)}/${sha256Hex(minified)}.btf`;
const tarballPath = "ubuntu/20.04/x86_64/5.8.0-63-generic.btf.tar.xz";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-place-"));
  archive = join(work, "archive");
  await mkdir(join(archive, "minified", minifiedPath.split("/")[1]!), { recursive: true });
  await writeFile(join(archive, minifiedPath), minified);
  await mkdir(join(archive, "ubuntu", "20.04", "x86_64"), { recursive: true });
  await writeFile(join(work, "5.8.0-63-generic.btf"), full);
  await writeBtfTarball(join(work, "5.8.0-63-generic.btf"), "5.8.0-63-generic.btf", join(archive, tarballPath));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("placeFiles", () => {
  it("hard-links a file on the same filesystem and takes the full BTF out of its tarball, each the manifest's bytes", async () => {
    const tree = join(work, "tree-ok");
    const tarball = await digestFile(join(archive, tarballPath));
    await placeFiles(archive, tree, [
      {
        from: minifiedPath,
        to: "ubuntu/20.04/x86_64/5.8.0-63-generic.btf",
        sha256: sha256Hex(minified),
        size: minified.length,
      },
      {
        from: tarballPath,
        to: "full/ubuntu/20.04/x86_64/5.8.0-63-generic.btf",
        sha256: sha256Hex(full),
        size: full.length,
        extract: { member: "5.8.0-63-generic.btf", ...tarball },
      },
    ]);
    const linked = join(tree, "ubuntu/20.04/x86_64/5.8.0-63-generic.btf");
    expect((await stat(linked)).ino).toBe((await stat(join(archive, minifiedPath))).ino);
    expect((await readFile(join(tree, "full/ubuntu/20.04/x86_64/5.8.0-63-generic.btf"))).equals(full)).toBe(true);
  });

  it("refuses a file whose bytes are not the manifest's, naming both digests and how to fix it", async () => {
    const error = await rejection(
      placeFiles(archive, join(work, "tree-bad"), [
        { from: minifiedPath, to: "x.btf", sha256: "0".repeat(64), size: minified.length },
      ]),
    );
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toBe(
      `${join(archive, minifiedPath)} has sha256 ${sha256Hex(minified)} (${minified.length} bytes), the archive manifest says ${"0".repeat(64)} (${minified.length} bytes)`,
    );
    expect((error as IntegrityError).hint).toMatch(/btfmill run/);
  });

  it("names the member and its tarball when the extracted BTF is not the manifest's", async () => {
    const tarball = await digestFile(join(archive, tarballPath));
    const error = await rejection(
      placeFiles(archive, join(work, "tree-member"), [
        {
          from: tarballPath,
          to: "full/x.btf",
          sha256: sha256Hex(full),
          size: full.length + 1,
          extract: { member: "5.8.0-63-generic.btf", ...tarball },
        },
      ]),
    );
    expect(error.message).toMatch(
      new RegExp(`^5\\.8\\.0-63-generic\\.btf in ${join(archive, tarballPath)} has sha256`),
    );
  });
});
