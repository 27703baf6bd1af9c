// A part as bytes: a tar of its files, reproducible (sorted, owner 0, mode 0644, mtime 0) so an
// unchanged part gives the same sha256 and is not uploaded again. Source parts are plain tar (the
// files inside are xz already); the state part (JSON) is gzipped. The tar is made twice, once to
// digest it and its pieces, once per piece uploaded, rather than kept on disk beside the archive.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import tar from "tar-stream";
import { reproducibleEntry } from "../../archive/tar-entry.ts";
import type { ArchivePart } from "./archive-parts.ts";
import { statePartId } from "./archive-parts.ts";

export interface Digest {
  sha256: string;
  size: number;
}

export interface PartDigest extends Digest {
  /** Consecutive byte ranges of at most `maxAssetBytes` each, in order. */
  pieces: Digest[];
}

/** Whether a part's tar is gzipped: the state part's is. */
export function isCompressed(part: Pick<ArchivePart, "id">): boolean {
  return part.id === statePartId;
}

/** When a part is digested or uploaded: its reproducible tar, as a stream. */
export function partStream(root: string, part: ArchivePart): Readable {
  const pack = tar.pack();
  const out = new PassThrough();
  void (async () => {
    for (const file of part.files) {
      const entry = pack.entry(reproducibleEntry(file.path, file.size, 0o644));
      await pipeline(createReadStream(join(root, file.path)), entry);
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  const done = isCompressed(part) ? pipeline(pack, createGzip({ level: 9 }), out) : pipeline(pack, out);
  done.catch((error: unknown) => out.destroy(error as Error));
  return out;
}

/** When a save decides what changed: the part's sha256 and size, and each piece's. */
export async function digestPart(root: string, part: ArchivePart, maxAssetBytes: number): Promise<PartDigest> {
  const whole = createHash("sha256");
  const pieces: Digest[] = [];
  let piece = createHash("sha256");
  let pieceSize = 0;
  let size = 0;
  for await (const chunk of partStream(root, part) as AsyncIterable<Buffer>) {
    whole.update(chunk);
    size += chunk.length;
    for (let offset = 0; offset < chunk.length; ) {
      const take = Math.min(chunk.length - offset, maxAssetBytes - pieceSize);
      piece.update(chunk.subarray(offset, offset + take));
      pieceSize += take;
      offset += take;
      if (pieceSize === maxAssetBytes) {
        pieces.push({ sha256: piece.digest("hex"), size: pieceSize });
        piece = createHash("sha256");
        pieceSize = 0;
      }
    }
  }
  if (pieceSize > 0 || pieces.length === 0) pieces.push({ sha256: piece.digest("hex"), size: pieceSize });
  return { sha256: whole.digest("hex"), size, pieces };
}

/** When one piece is uploaded: bytes [start, start + size) of `source`, which is released past them. */
export function sliceStream(source: Readable, start: number, size: number): Readable {
  return Readable.from(
    (async function* () {
      let position = 0;
      try {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          const from = Math.max(0, start - position);
          const to = Math.min(chunk.length, start + size - position);
          position += chunk.length;
          if (to > from) yield chunk.subarray(from, to);
          if (position >= start + size) return;
        }
      } finally {
        source.destroy();
      }
    })(),
    { objectMode: false },
  );
}

/** When a part's pieces are read back: one stream of their bytes, in order. */
export function concatenated(streams: (() => Readable)[]): Readable {
  return Readable.from(
    (async function* () {
      for (const open of streams) yield* open() as AsyncIterable<Buffer>;
    })(),
  );
}
