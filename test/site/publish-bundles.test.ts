// A set's bundle as GNU tar and xz read it: sorted members at their root paths, owner 0, mode
// a=r, mtime 0, one xz block; the same bytes every time; the record the manifest lists.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../archive/file-digest.ts";
import { writeBundle } from "../../site/publish-bundles.ts";
import { patterned } from "../fixtures/patterned-bytes.ts";

let tree: string;
const members = [
  { name: "ubuntu/20.04/x86_64/5.8.0-63-generic.btf", path: "sets/net/ubuntu/20.04/x86_64/5.8.0-63-generic.btf" },
  { name: "debian/12/x86_64/6.1.0-47-cloud-amd64.btf", path: "sets/net/debian/12/x86_64/6.1.0-47-cloud-amd64.btf" },
];
const contents = [patterned(30_000, 1), patterned(25_000, 2)];
const sized = () => members.map((member, index) => ({ ...member, size: contents[index]!.length }));

beforeAll(async () => {
  tree = await mkdtemp(join(tmpdir(), "btfmill-bundle-"));
  for (const [index, member] of members.entries()) {
    await mkdir(dirname(join(tree, member.path)), { recursive: true });
    await writeFile(join(tree, member.path), contents[index]!);
  }
});

afterAll(async () => {
  await rm(tree, { recursive: true, force: true });
});

describe("writeBundle", () => {
  it("packs the members sorted, under their names, owner 0, mode a=r, mtime 0, and records what it holds", async () => {
    const record = await writeBundle(tree, "net", "x86_64", sized());
    const bytes = await readFile(join(tree, record.path));
    expect(record).toEqual({
      path: "bundles/net/x86_64.tar.xz",
      sha256: sha256Hex(bytes),
      size: bytes.length,
      set: "net",
      arch: "x86_64",
      files: 2,
      contentSize: 55_000,
    });
    const { stdout } = await execa("tar", ["--numeric-owner", "-tvJf", join(tree, record.path)]);
    const lines = stdout.split("\n").map((line) => line.split(/\s+/));
    expect(lines.map((fields) => fields.at(-1))).toEqual([members[1]!.name, members[0]!.name]);
    for (const fields of lines) {
      expect(fields[0]).toBe("-r--r--r--");
      expect(fields[1]).toBe("0/0");
      expect(fields[3]).toBe("1970-01-01");
    }
    const extracted = await execa("tar", ["-xJOf", join(tree, record.path), members[0]!.name], { encoding: "buffer" });
    expect(Buffer.from(extracted.stdout).equals(contents[0]!)).toBe(true);
  });

  it("is one xz stream of one block, and the same bytes when written again", async () => {
    const first = await writeBundle(tree, "net", "x86_64", sized());
    const again = await writeBundle(tree, "net", "x86_64", sized().reverse());
    expect(again.sha256).toBe(first.sha256);
    const { stdout } = await execa("xz", ["--robot", "--list", join(tree, first.path)]);
    const totals = stdout
      .split("\n")
      .find((line) => line.startsWith("totals"))!
      .split("\t");
    expect([totals[1], totals[2]]).toEqual(["1", "1"]);
  });
});
