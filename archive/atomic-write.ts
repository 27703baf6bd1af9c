// Results appear whole or not at all: write beside the target, fsync, then rename, so a crash or
// a full disk never leaves a truncated file under a published name.
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** The temp name used for `target`: hidden, in the same folder so rename is atomic. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(4).toString("hex")}.tmp`);
}

const tempName = /^\..+\.[0-9a-f]{8}\.tmp$/;

/** When leftovers of a killed writer are looked for: whether `path` has the form tempPathFor gives. */
export function isTempName(path: string): boolean {
  return tempName.test(basename(path));
}

/**
 * When a result is written: `produce` fills the temp path; it is renamed over `target` on success.
 * `durable: false` skips the fsync, for files whose readers check every byte each time anyway
 * (pull's, against the manifest's sha256): a power cut then costs a download, not a corrupt
 * result, and a thousand fsyncs cost seconds.
 */
export async function writeAtomically(
  target: string,
  produce: (tempPath: string) => Promise<void>,
  options: { durable?: boolean } = {},
): Promise<void> {
  const temp = tempPathFor(target);
  try {
    await produce(temp);
    if (options.durable !== false) {
      const handle = await open(temp, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** When a small file (the manifest) is replaced. */
export async function writeFileAtomically(target: string, data: string | Uint8Array): Promise<void> {
  await writeAtomically(target, async (temp) => {
    const handle = await open(temp, "w", 0o644);
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
  });
}
