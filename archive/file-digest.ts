// Content addressing: every published byte is named by its sha256 in the manifest.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** A sha256 as btfmill writes and reads it everywhere: 64 lowercase hex digits. */
export const sha256Pattern = /^[0-9a-f]{64}$/;

export interface FileDigest {
  sha256: string;
  size: number;
}

/** When a result is recorded or checked: streams the file through sha256. */
export async function digestFile(path: string): Promise<FileDigest> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

/** When bytes already in memory are named or checked: their sha256, hex. */
export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
