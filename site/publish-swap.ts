// Atomic publishing. `--out` is a symlink to the current tree, a hidden generation folder beside
// it; a new tree is built in a folder of its own and `--out` is switched to it by one rename of a
// new symlink over the old one (rename(2) is atomic; a folder cannot be renamed over a non-empty
// one). A reader resolves `--out` per request, so it sees the old tree or the new one, never a mix
// of a new manifest and missing files. The previous generation is kept for requests in flight.
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, readlink, rename, rm, stat, symlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "../archive/errors.ts";

const partialSuffix = ".partial";
// A publish takes minutes at most; a partial tree older than this was left by one that died.
const abandonedAfterMs = 24 * 60 * 60 * 1000;

function generationPrefix(out: string): string {
  return `.${basename(out)}.gen-`;
}

/** When publish starts: checks `out` and makes an empty folder for the new tree beside it. */
export async function startGeneration(out: string): Promise<string> {
  const stats = await lstat(out).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === "ENOENT") return undefined;
    throw cause;
  });
  if (stats && !stats.isSymbolicLink()) {
    throw new ConfigError(`--out ${out} exists and is not the symlink publish maintains`, {
      hint: "publish keeps --out as a symlink to the current tree so it can switch trees atomically; remove it or pick another --out",
    });
  }
  await mkdir(dirname(out), { recursive: true });
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  const dir = join(dirname(out), `${generationPrefix(out)}${id}${partialSuffix}`);
  await mkdir(dir);
  return dir;
}

/** When the new tree is complete: points `out` at it, then drops generations older than the previous one. */
export async function switchToGeneration(out: string, partialDir: string): Promise<string> {
  const dir = partialDir.slice(0, -partialSuffix.length);
  await rename(partialDir, dir);
  const previous = await readlink(out).catch(() => undefined);
  const link = `${dir}.link`;
  await symlink(basename(dir), link);
  await rename(link, out);
  const keep = new Set([basename(dir), previous === undefined ? "" : basename(resolve(dirname(out), previous))]);
  const parent = dirname(out);
  for (const name of await readdir(parent)) {
    if (!name.startsWith(generationPrefix(out)) || keep.has(name)) continue;
    // In-progress trees of a concurrent publish end in .partial and are left alone.
    // (A concurrent publish may rename or remove it meanwhile: then it is not ours to judge.)
    const started = name.endsWith(partialSuffix)
      ? (await stat(join(parent, name)).catch(() => undefined))?.mtimeMs
      : undefined;
    const abandoned = started !== undefined && Date.now() - started > abandonedAfterMs;
    if (!name.endsWith(partialSuffix) || abandoned) await rm(join(parent, name), { recursive: true, force: true });
  }
  return dir;
}

/** When publish fails part way: removes the unfinished tree; `out` still names the old one. */
export async function discardGeneration(partialDir: string): Promise<void> {
  await rm(partialDir, { recursive: true, force: true });
}
