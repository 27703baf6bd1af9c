// One solid `.tar.xz` per set and arch: the minified files of many kernels share most of their
// types, so one xz stream over all of them is far smaller than the files compressed one by one.
// Reproducible as the archive's tarballs are: sorted members, owner 0, mode a=r, mtime 0, xz -T1.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { execa } from "execa";
import tar from "tar-stream";
import { reproducibleEntry } from "../archive/tar-entry.ts";
import { digestFile } from "../archive/file-digest.ts";
import { arches, type Arch } from "../archive/kernel-key.ts";
import type { CdnBundle, CdnKernel, CdnSet } from "./cdn-manifest.ts";
import { bundlePath } from "./cdn-layout.ts";
import { unionSetName } from "../archive/manifest.ts";

/** When publish has placed the files: writes every set x arch bundle and returns their records. */
export async function writeBundles(treeRoot: string, sets: CdnSet[], kernels: CdnKernel[]): Promise<CdnBundle[]> {
  const bundles: CdnBundle[] = [];
  for (const set of sets) {
    for (const arch of arches) {
      const members = kernels.flatMap((kernel) => {
        const file = set.name === unionSetName ? kernel.files.root : kernel.files.sets[set.name];
        // Inside the bundle a file sits at its root path, the layout Tracee and Inspektor Gadget embed.
        return kernel.arch === arch && file ? [{ name: `${kernel.key}.btf`, path: file.path, size: file.size }] : [];
      });
      if (members.length === 0) continue;
      bundles.push(await writeBundle(treeRoot, set.name, arch, members));
    }
  }
  return bundles;
}

/** When a tree holds a set's files (publish, gen --bundle): writes `bundles/<set>/<arch>.tar.xz` of `members`, each stored under its name. */
export async function writeBundle(
  treeRoot: string,
  set: string,
  arch: Arch,
  members: { name: string; path: string; size: number }[],
): Promise<CdnBundle> {
  const path = bundlePath(set, arch);
  const target = join(treeRoot, path);
  await mkdir(dirname(target), { recursive: true });
  members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const pack = tar.pack();
  // -9: a 64 MiB dictionary spans many kernels, which is where the sharing is. -T1 keeps one block
  // (multi-threaded xz splits the stream, which both loses that sharing and changes the bytes).
  const xz = execa("xz", ["-9", "--threads=1", "--check=crc64", "-c"], {
    stdin: "pipe",
    stdout: "pipe",
    buffer: false,
  });
  const written = pipeline(xz.stdout!, createWriteStream(target));
  const packed = (async () => {
    for (const member of members) {
      const entry = pack.entry(reproducibleEntry(member.name, member.size, 0o444));
      await pipeline(createReadStream(join(treeRoot, member.path)), entry);
    }
    pack.finalize();
  })();
  await Promise.all([packed, pipeline(pack, xz.stdin!), written, xz]);
  const digest = await digestFile(target);
  return {
    path,
    ...digest,
    set,
    arch,
    files: members.length,
    contentSize: members.reduce((n, member) => n + member.size, 0),
  };
}
