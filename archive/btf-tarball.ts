// BTFHub's `<kernel>.btf.tar.xz`, made reproducible: one member, owner 0, mode a=r, mtime 0,
// compressed by xz in fixed 3 MiB blocks so the same BTF always gives the same bytes. A kernel's
// modules' split BTF go the same way into `<kernel>.modules.btf.tar.xz`, one member per module.
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { execa } from "execa";
import tar from "tar-stream";
import { reproducibleEntry } from "./tar-entry.ts";
import { writeAtomically } from "./atomic-write.ts";

/** The xz block size of every tarball btfmill writes; changing it changes every tarball's bytes. */
export const xzBlockSize = "3MiB";

/** When a converted kernel is stored: packs `btfPath` as `memberName` into `target`. */
export async function writeBtfTarball(btfPath: string, memberName: string, target: string): Promise<void> {
  await writeBtfsTarball([{ path: btfPath, name: memberName }], target);
}

/** When a kernel's modules are stored: packs each file under its name, in name order, into `target`. */
export async function writeBtfsTarball(
  members: readonly { path: string; name: string }[],
  target: string,
): Promise<void> {
  const sorted = [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const sizes = await Promise.all(sorted.map(async (member) => (await stat(member.path)).size));
  await writeAtomically(target, async (temp) => {
    const pack = tar.pack();
    // Multi-threaded xz cuts the stream into independent blocks and records their sizes: with the
    // block size fixed, its bytes are the same for any thread count (xz 5.4: -T2, -T4 and -T+1 agree),
    // but not single-threaded xz's. A 6.x kernel's ~5 MB BTF makes 2 blocks, compressed at once on
    // two cores (about half the wall time of xz -6, the store's whole cost) for 0.1% more bytes.
    const xz = execa("xz", ["-6", "--threads=2", `--block-size=${xzBlockSize}`, "--check=crc64", "-c"], {
      stdin: "pipe",
      stdout: "pipe",
      buffer: false,
    });
    const packing = (async () => {
      for (const [index, member] of sorted.entries()) {
        const entry = pack.entry(reproducibleEntry(member.name, sizes[index]!, 0o444));
        await pipeline(createReadStream(member.path), entry);
      }
      pack.finalize();
    })();
    const written = pipeline(xz.stdout!, createWriteStream(temp));
    await Promise.all([packing, pipeline(pack, xz.stdin!), written, xz]);
  });
}

/**
 * When a stored tarball was decompressed (the tar's bytes): the BTF member named `memberName`,
 * or undefined when the tar holds no such regular file.
 */
export async function btfMemberOf(
  tarBytes: Buffer,
  memberName: string | ((name: string) => boolean),
): Promise<Buffer | undefined> {
  const wanted = typeof memberName === "string" ? (name: string) => name === memberName : memberName;
  const extract = tar.extract();
  Readable.from([tarBytes]).pipe(extract);
  let member: Buffer | undefined;
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    if (member === undefined && entry.header.type === "file" && wanted(entry.header.name)) {
      // The member usually arrives as one slice of the tar's bytes: no copy then.
      member = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    }
  }
  return member;
}

/**
 * When a stored modules tarball was decompressed (the tar's bytes): every regular `<name>.btf`
 * member by `name`, each a slice of `tarBytes` where it arrives in one piece.
 */
export async function btfMembersByName(tarBytes: Buffer): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  Readable.from([tarBytes]).pipe(extract);
  const members = new Map<string, Buffer>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    const { name, type } = entry.header;
    if (type === "file" && name.endsWith(".btf") && !name.includes("/"))
      members.set(name.slice(0, -".btf".length), chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  }
  return members;
}
