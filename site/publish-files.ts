// Puts the archive's files into the new tree. Hard links when the archive shares the filesystem
// (no copy, and the archive only ever replaces files by rename, so a link never sees a change),
// a copy otherwise; the full BTF of a kernel comes out of its BTFHub tarball (tar -xJOf). Either
// way the bytes are checked against the archive manifest's sha256.
import { copyFile, link, mkdir, mkdtemp, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { execa } from "execa";
import pLimit from "p-limit";
import { digestFile } from "../archive/file-digest.ts";
import { IntegrityError } from "../archive/errors.ts";
import type { Placement } from "./publish-plan.ts";

/** When publish fills a new tree: places every file, verified, a few at a time. */
export async function placeFiles(archiveRoot: string, treeRoot: string, placements: Placement[]): Promise<void> {
  const limit = pLimit(8);
  // A modules tarball gives up to thousands of members: one decompression for all of them, not one each.
  const fromTarball = new Map<string, Placement[]>();
  const single: Placement[] = [];
  for (const placement of placements) {
    if (placement.extract === undefined) single.push(placement);
    else fromTarball.set(placement.from, [...(fromTarball.get(placement.from) ?? []), placement]);
  }
  for (const [from, group] of fromTarball) {
    if (group.length > 1) continue;
    single.push(...group);
    fromTarball.delete(from);
  }
  await Promise.all([
    ...single.map((placement) => limit(() => placeFile(archiveRoot, treeRoot, placement))),
    ...[...fromTarball].map(([from, group]) => limit(() => placeMembers(archiveRoot, treeRoot, from, group))),
  ]);
}

async function placeFile(archiveRoot: string, treeRoot: string, placement: Placement): Promise<void> {
  const source = join(archiveRoot, placement.from);
  const target = join(treeRoot, placement.to);
  await mkdir(dirname(target), { recursive: true });
  if (placement.extract !== undefined) {
    await execa("tar", ["-xJOf", source, placement.extract.member], { stdout: { file: target } });
  } else {
    await linkOrCopy(source, target);
  }
  await verifyPlaced(source, target, placement);
}

// Extracted once into a folder of the new tree (removed before the tree is switched in), then moved to their paths.
async function placeMembers(archiveRoot: string, treeRoot: string, from: string, group: Placement[]): Promise<void> {
  const source = join(archiveRoot, from);
  const scratch = await mkdtemp(join(treeRoot, ".extract-"));
  try {
    const members = [...new Set(group.map((placement) => placement.extract!.member))];
    await execa("tar", ["-xJf", source, "-C", scratch, "--", ...members]);
    for (const placement of group) {
      const target = join(treeRoot, placement.to);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(join(scratch, placement.extract!.member), target);
      await verifyPlaced(source, target, placement);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function verifyPlaced(source: string, target: string, placement: Placement): Promise<void> {
  const actual = await digestFile(target);
  if (actual.sha256 !== placement.sha256 || actual.size !== placement.size) {
    const what = placement.extract === undefined ? source : `${placement.extract.member} in ${source}`;
    throw new IntegrityError(
      `${what} has sha256 ${actual.sha256} (${actual.size} bytes), the archive manifest says ${placement.sha256} (${placement.size} bytes)`,
      {
        hint: 'the archive was changed behind btfmill\'s back: run "btfmill run" to redo that kernel, then publish again',
      },
    );
  }
}

async function linkOrCopy(source: string, target: string): Promise<void> {
  try {
    await link(source, target);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EPERM") throw cause;
    await copyFile(source, target);
  }
}
