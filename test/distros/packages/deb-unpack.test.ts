// The toolchain's deb unpacker: a package dpkg-deb built unpacks as dpkg-deb -x does; a crafted
// one whose names climb out of the folder, directly or through a symbolic link, is refused and
// writes nothing outside it.
import { createReadStream } from "node:fs";
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unpackDeb } from "../../../distros/packages/deb-unpack.ts";
import { rejection } from "../../helpers/rejection.ts";

type Member = { name: string; body?: string; type?: "file" | "symlink" | "directory"; linkname?: string };

// data.tar.xz built member by member, in an ar archive beside debian-binary: names dpkg-deb refuses to write.
async function craftedDeb(dir: string, name: string, members: Member[]): Promise<string> {
  const pack = tar.pack();
  for (const member of members) {
    if (member.type === "symlink") pack.entry({ name: member.name, type: "symlink", linkname: member.linkname ?? "" });
    else if (member.type === "directory") pack.entry({ name: member.name, type: "directory", mode: 0o755 });
    else pack.entry({ name: member.name, mode: 0o644 }, member.body ?? "");
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  const scratch = await mkdtemp(join(dir, `${name}-`));
  await writeFile(join(scratch, "debian-binary"), "2.0\n");
  await execa("xz", ["-T1", "-c"], {
    input: Buffer.concat(chunks),
    encoding: "buffer",
    stdout: { file: join(scratch, "data.tar.xz") },
  });
  const deb = join(dir, `${name}.deb`);
  await execa("ar", ["rc", deb, "debian-binary", "data.tar.xz"], { cwd: scratch });
  return deb;
}

describe("unpackDeb", () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-unpack-"));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("unpacks what dpkg-deb -b packed: files with their modes, relative symbolic links, folders", async () => {
    const tree = join(work, "tree");
    await mkdir(join(tree, "DEBIAN"), { recursive: true });
    await writeFile(
      join(tree, "DEBIAN/control"),
      "Package: tool\nVersion: 1\nArchitecture: amd64\nMaintainer: t <t@btfmill.invalid>\nDescription: t\n",
    );
    await mkdir(join(tree, "usr/bin"), { recursive: true });
    await mkdir(join(tree, "usr/lib/x86_64-linux-gnu"), { recursive: true });
    await writeFile(join(tree, "usr/bin/tool"), "#!/bin/sh\necho tool\n");
    await chmod(join(tree, "usr/bin/tool"), 0o755);
    await writeFile(join(tree, "usr/lib/x86_64-linux-gnu/libtool-1.2.so"), "library bytes");
    await symlink("libtool-1.2.so", join(tree, "usr/lib/x86_64-linux-gnu/libtool.so.1"));
    const deb = join(work, "tool.deb");
    await execa("dpkg-deb", ["-Zxz", "-b", tree, deb]);
    const root = join(work, "root");
    await mkdir(root);
    expect(await unpackDeb(createReadStream(deb), root, "tool")).toBe(2);
    expect(await readFile(join(root, "usr/bin/tool"), "utf8")).toBe("#!/bin/sh\necho tool\n");
    expect((await stat(join(root, "usr/bin/tool"))).mode & 0o777).toBe(0o755);
    expect(await readlink(join(root, "usr/lib/x86_64-linux-gnu/libtool.so.1"))).toBe("libtool-1.2.so");
    expect(await readFile(join(root, "usr/lib/x86_64-linux-gnu/libtool.so.1"), "utf8")).toBe("library bytes");
    // The same tree dpkg-deb -x gives.
    const reference = join(work, "reference");
    await execa("dpkg-deb", ["-x", deb, reference]);
    expect(await readFile(join(reference, "usr/bin/tool"), "utf8")).toBe(
      await readFile(join(root, "usr/bin/tool"), "utf8"),
    );
  });

  it("refuses a `..` name, and a name through a symbolic link that leaves the folder, writing nothing outside", async () => {
    const outside = join(work, "outside");
    await mkdir(outside);
    const climbing = await craftedDeb(work, "climbing", [{ name: "./usr/../../outside/escaped", body: "climbed out" }]);
    const root1 = join(work, "root1");
    await mkdir(root1);
    const climbed = await rejection(unpackDeb(createReadStream(climbing), root1, "climbing"));
    expect(climbed.name).toBe("FormatError");
    expect(climbed.message).toMatch(/points outside the unpack folder/);

    const linked = await craftedDeb(work, "linked", [
      { name: "./usr/", type: "directory" },
      { name: "./usr/lib", type: "symlink", linkname: outside },
      { name: "./usr/lib/escaped", body: "through a link" },
    ]);
    const root2 = join(work, "root2");
    await mkdir(root2);
    const through = await rejection(unpackDeb(createReadStream(linked), root2, "linked"));
    expect(through.name).toBe("FormatError");
    expect(await lstat(join(outside, "escaped")).catch(() => undefined)).toBeUndefined();
  });
});
