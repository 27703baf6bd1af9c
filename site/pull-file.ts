// One file of a site brought into a pulled folder: kept when it is already there with the right
// sha256, else fetched, checked against the manifest's sha256 and renamed in.
import { readFile, stat, writeFile } from "node:fs/promises";
import { writeAtomically } from "../archive/atomic-write.ts";
import { IntegrityError } from "../archive/errors.ts";
import { sha256Hex } from "../archive/file-digest.ts";
import type { CdnFile } from "./cdn-manifest.ts";
import type { SiteSource } from "./site-source.ts";

// Sized first, so a file of another size is never read; the rest are small enough to read whole,
// cheaper for a thousand of them than streaming each through the hash (test/bench/in-process.ts).
/** When a pull decides what to fetch: `path` holds exactly `file`'s bytes. */
export async function currentFile(path: string, file: CdnFile): Promise<boolean> {
  try {
    if ((await stat(path)).size !== file.size) return false;
    return sha256Hex(await readFile(path)) === file.sha256;
  } catch {
    return false;
  }
}

/** When a pull fetches one file: writes it to `target` only once its bytes match the manifest; returns their length. */
export async function fetchChecked(
  site: SiteSource,
  remote: CdnFile,
  target: string,
  kernel: string,
  signal?: AbortSignal,
): Promise<number> {
  const bytes = await site.read(remote.path, remote.size, signal);
  const sha256 = sha256Hex(bytes);
  if (sha256 !== remote.sha256 || bytes.length !== remote.size) {
    throw new IntegrityError(
      `${site.locate(remote.path)} has sha256 ${sha256} (${bytes.length} bytes), the manifest says ${remote.sha256} (${remote.size})`,
      {
        kernel,
        package: site.locate(remote.path),
        hint: "the site is being republished or the file was altered: pull again later; nothing was replaced",
      },
    );
  }
  // No fsync: every pull checks this file's sha256 again, so a power cut costs a download.
  await writeAtomically(target, (temp) => writeFile(temp, bytes), { durable: false });
  return bytes.length;
}
