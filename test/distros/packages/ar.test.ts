import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArMember } from "../../../distros/packages/ar.ts";
import { readArMembers } from "../../../distros/packages/ar.ts";
import { FormatError } from "../../../archive/errors.ts";

let dir: string;
let gnuArchive: Buffer;
let debArchive: Buffer;
const members = {
  "debian-binary": Buffer.from("2.0\n"),
  // Odd sizes: each is followed by a padding byte the reader must step over.
  "control.tar.xz": Buffer.from("odd-sized control member!"),
  "data.tar.xz": Buffer.alloc(70_001, 7),
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-ar-"));
  for (const [name, bytes] of Object.entries(members)) await writeFile(join(dir, name), bytes);
  // GNU ar ends names with "/"; dpkg-deb pads them with spaces only.
  await execa("ar", ["rc", "gnu.a", ...Object.keys(members)], { cwd: dir });
  gnuArchive = await readFile(join(dir, "gnu.a"));
  const root = join(dir, "pkg");
  await execa("mkdir", ["-p", join(root, "DEBIAN")]);
  await writeFile(
    join(root, "DEBIAN/control"),
    "Package: t\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t.invalid>\nDescription: t\n",
  );
  await execa("dpkg-deb", ["--root-owner-group", "-Zxz", "-b", root, join(dir, "t.deb")]);
  debArchive = await readFile(join(dir, "t.deb"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// A source that hands out the bytes in pieces of `size`, to cross every header boundary.
async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

async function readAll(source: AsyncIterable<Buffer>, archiveSize?: number) {
  const out: Array<{ name: string; size: number; offset: number; bytes: Buffer }> = [];
  for await (const member of readArMembers(source, { package: "test.deb", archiveSize })) {
    const chunks: Buffer[] = [];
    for await (const chunk of member.body as AsyncIterable<Buffer>) chunks.push(chunk);
    out.push({ name: member.name, size: member.size, offset: member.offset, bytes: Buffer.concat(chunks) });
  }
  return out;
}

describe("readArMembers", () => {
  it.each([1, 7, 60, 4096, 1 << 20])(
    "yields GNU ar members in order with their bytes, read in pieces of %i",
    async (size) => {
      const read = await readAll(pieces(gnuArchive, size), gnuArchive.length);
      expect(read.map((member) => member.name)).toEqual(Object.keys(members));
      for (const member of read) {
        expect(member.bytes.equals(members[member.name as keyof typeof members])).toBe(true);
        expect(member.size).toBe(member.bytes.length);
        expect(gnuArchive.subarray(member.offset, member.offset + member.size).equals(member.bytes)).toBe(true);
      }
    },
  );

  it("reads dpkg-deb's space-padded names", async () => {
    const read = await readAll(pieces(debArchive, 512));
    expect(read.map((member) => member.name)).toEqual(["debian-binary", "control.tar.xz", "data.tar.xz"]);
    expect(read[0]?.bytes.toString()).toBe("2.0\n");
  });

  it("skips the bytes of members the caller does not read", async () => {
    const names: string[] = [];
    for await (const member of readArMembers(pieces(gnuArchive, 1000), { package: "test.deb" }))
      names.push(member.name);
    expect(names).toEqual(Object.keys(members));
  });

  it("stops pulling from the source when the caller stops, and leaves the rest to it", async () => {
    const source = pieces(gnuArchive, 100);
    let first: ArMember | undefined;
    for await (const member of readArMembers(source, { package: "test.deb" })) {
      first = member;
      break;
    }
    expect(first?.name).toBe("debian-binary");
    expect(first?.body.destroyed).toBe(true);
    let rest = 0;
    for await (const chunk of source) rest += chunk.length;
    // Only the chunk holding the global and first member headers was taken.
    expect(rest).toBe(gnuArchive.length - 100);
  });

  it("refuses bytes that are not an ar archive", async () => {
    await expect(readAll(pieces(Buffer.from("PK\u0003\u0004 not an ar archive at all"), 64))).rejects.toThrow(
      /not an ar archive: it starts with "PK/,
    );
  });

  it("refuses a header without its `\\n terminator", async () => {
    const broken = Buffer.from(gnuArchive);
    broken.write("xx", 8 + 58, "latin1");
    await expect(readAll(pieces(broken, 4096))).rejects.toThrow(/bad ar member header at byte 8: it does not end with/);
  });

  it("refuses a size that is not decimal", async () => {
    const broken = Buffer.from(gnuArchive);
    broken.write("0x10      ", 8 + 48, "latin1");
    await expect(readAll(pieces(broken, 4096))).rejects.toThrow(/size "0x10      " is not a decimal number/);
  });

  it("refuses a member that reaches past the size the index vouches for", async () => {
    await expect(readAll(pieces(gnuArchive, 4096), gnuArchive.length - 10)).rejects.toThrow(
      /ar member data.tar.xz claims 70001 bytes at offset \d+, past the package's \d+ bytes/,
    );
  });

  it("reports a member cut short by the end of the archive", async () => {
    const cut = gnuArchive.subarray(0, gnuArchive.length - 1000);
    const error = await readAll(pieces(cut, 4096)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).message).toBe(
      "ar member data.tar.xz is truncated: the archive ends after 69002 of its 70001 bytes",
    );
    expect((error as FormatError).package).toBe("test.deb");
  });

  it("reports a header cut short by the end of the archive", async () => {
    const cut = gnuArchive.subarray(0, 8 + 30);
    await expect(readAll(pieces(cut, 4096))).rejects.toThrow(
      /bad ar member header at byte 8: the archive ends after 30 of its 60 bytes/,
    );
  });

  it("reports an unread member cut short when the caller skips it", async () => {
    const cut = gnuArchive.subarray(0, gnuArchive.length - 1000);
    const skipAll = async () => {
      for await (const member of readArMembers(pieces(cut, 4096), { package: "test.deb" })) void member;
    };
    await expect(skipAll()).rejects.toThrow(
      /ar member data.tar.xz is truncated: the archive ends at byte \d+, the member at byte \d+/,
    );
  });
});
