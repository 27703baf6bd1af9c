// Unpacks a whole .deb's payload under a root folder, the way `dpkg-deb -x` does, for the
// converter toolchain (pahole, bpftool and their libraries). Every name is resolved under the root
// and refused if it leaves it (`..`, or a path through a symbolic link the archive made), so no
// name in the package decides where bytes land outside the root. Symbolic links are written as
// the package says: the toolchain's library links are relative (`libdw.so.1 -> libdw-0.192.so`).
import { link, mkdir, readlink, symlink, lstat, chmod } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { BtfmillError, FormatError } from "../../archive/errors.ts";
import { readArMembers } from "./ar.ts";
import { createDecompressor } from "./decompress.ts";
import { decodePayload } from "./payload-decoder.ts";
import { normalizeMemberPath } from "./tar-member.ts";
import { writeMemberFile } from "./member-writer.ts";

// Debian's largest library packages are tens of MB; a toolchain package past this is not one.
const maxPayloadBytes = 1024 ** 3;

/** When a toolchain package is on disk and checked: unpacks its data.tar under `root`; returns the files written. */
export async function unpackDeb(source: AsyncIterable<Buffer>, root: string, pkg: string): Promise<number> {
  for await (const member of readArMembers(source, { package: pkg })) {
    if (!member.name.startsWith("data.tar")) {
      member.body.resume();
      continue;
    }
    const decoder = createDecompressor(member.name, { package: pkg, xzThreads: 1 });
    const { result } = await decodePayload(
      member.body,
      decoder,
      undefined,
      (decoded) => unpackTar(decoded, root, member.name, pkg),
      {
        maxBytes: maxPayloadBytes,
        name: member.name,
        package: pkg,
      },
    );
    return result;
  }
  throw new FormatError("the package has no data.tar member", { package: pkg });
}

async function unpackTar(payload: NodeJS.ReadableStream, root: string, tarName: string, pkg: string): Promise<number> {
  const extract = tar.extract();
  const feeding = pipeline(payload, extract).catch(() => {});
  let files = 0;
  try {
    for await (const entry of extract) {
      const name = normalizeMemberPath(entry.header.name);
      if (name === "" || name === ".") {
        entry.resume();
        continue;
      }
      const target = await inside(root, name, tarName, pkg);
      await mkdir(dirname(target), { recursive: true });
      switch (entry.header.type) {
        case "directory":
          await mkdir(target, { recursive: true });
          entry.resume();
          break;
        case "file":
        case "contiguous-file": {
          const written = await writeMemberFile(entry as AsyncIterable<Buffer>, target);
          if (written !== entry.header.size)
            throw new FormatError(`${name} in ${tarName} ends after ${written} of ${entry.header.size} bytes`, {
              package: pkg,
            });
          await chmod(target, (entry.header.mode ?? 0o644) & 0o755);
          files += 1;
          break;
        }
        case "symlink":
          await symlink(entry.header.linkname ?? "", target);
          entry.resume();
          break;
        case "link":
          await link(await inside(root, normalizeMemberPath(entry.header.linkname ?? ""), tarName, pkg), target);
          entry.resume();
          break;
        default:
          // Device nodes and fifos have no place in a toolchain package.
          throw new FormatError(`${name} in ${tarName} is a ${entry.header.type ?? "member of unknown type"}`, {
            package: pkg,
          });
      }
    }
    return files;
  } catch (error) {
    if (error instanceof BtfmillError || "syscall" in (error as object)) throw error;
    throw new FormatError(`${tarName} is not a readable tar: ${(error as Error).message}`, {
      package: pkg,
      cause: error,
    });
  } finally {
    extract.destroy();
    await feeding;
  }
}

// The member's path under root, refused when a `..` or a symbolic link already unpacked would take it outside.
async function inside(root: string, name: string, tarName: string, pkg: string): Promise<string> {
  const refuse = () => new FormatError(`${name} in ${tarName} points outside the unpack folder`, { package: pkg });
  if (name.split("/").includes("..")) throw refuse();
  const target = resolve(root, name);
  let folder = dirname(target);
  while (folder !== root && folder.startsWith(`${root}${sep}`)) {
    const stat = await lstat(folder).catch(() => undefined);
    if (stat?.isSymbolicLink()) {
      const pointsTo = resolve(dirname(folder), await readlink(folder));
      if (relative(root, pointsTo).startsWith("..")) throw refuse();
    }
    folder = dirname(folder);
  }
  return join(root, name);
}
