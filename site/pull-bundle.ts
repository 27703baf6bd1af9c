// The bundle path of `btfmill pull`: one request for `bundles/<set>/<arch>.tar.xz` instead of one
// per file. The bundle is checked against the manifest's sha256 before it is opened, and every
// member taken from it is checked against its own file's sha256 before it replaces anything, so
// it is trusted exactly as far as a file fetched alone. Members nobody asked for are skipped.
import { writeFile } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { writeAtomically } from "../archive/atomic-write.ts";
import { createDecompressor } from "../distros/packages/decompress.ts";
import { IntegrityError } from "../archive/errors.ts";
import type { CdnBundle, CdnFile } from "./cdn-manifest.ts";
import type { SiteSource } from "./site-source.ts";
import { sha256Hex } from "../archive/file-digest.ts";

/** A file to take from the bundle: its member name (`<key>.btf`), the manifest's record, where it goes (its folder exists). */
export interface BundleWant {
  key: string;
  file: CdnFile;
  target: string;
}

/** When pull takes many files of one set and arch at once: writes the wanted members, returns the keys written. */
export async function pullFromBundle(
  site: SiteSource,
  bundle: CdnBundle,
  wants: readonly BundleWant[],
  signal?: AbortSignal,
): Promise<{ written: Set<string>; bytes: number }> {
  const url = site.locate(bundle.path);
  const bytes = await site.read(bundle.path, bundle.size, signal);
  const sha256 = sha256Hex(bytes);
  if (sha256 !== bundle.sha256 || bytes.length !== bundle.size) {
    throw new IntegrityError(
      `${url} has sha256 ${sha256} (${bytes.length} bytes), the manifest says ${bundle.sha256} (${bundle.size})`,
      {
        package: url,
        hint: "the site is being republished or the bundle was altered: pull again later, or pull with --via files; nothing was replaced",
      },
    );
  }
  const byName = new Map(wants.map((want) => [`${want.key}.btf`, want]));
  const written = new Set<string>();
  const writes = new Set<Promise<void>>();
  let writeError: unknown;
  const extract = tar.extract();
  extract.on("entry", (header, stream, next) => {
    const want = header.type === "file" ? byName.get(header.name) : undefined;
    if (want === undefined || header.size !== want.file.size) {
      // Not wanted, or not the file the manifest describes: the per-file path fetches it instead.
      // An entry cut off by a failed extract errors with the extract's own error, which pull reports.
      stream
        .on("error", () => {})
        .on("end", () => next())
        .resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (chunk) => chunks.push(chunk as Buffer));
    stream.on("error", next);
    stream.on("end", () => {
      const data = Buffer.concat(chunks);
      if (sha256Hex(data) !== want.file.sha256) {
        next();
        return;
      }
      // Writes go on while the next members decode, a few at a time, as the per-file path's do.
      const write: Promise<void> = writeAtomically(want.target, (temp) => writeFile(temp, data), { durable: false })
        .then(
          () => void written.add(want.key),
          (error: unknown) => void (writeError ??= error),
        )
        .finally(() => writes.delete(write));
      writes.add(write);
      void (writes.size < 8 ? Promise.resolve() : Promise.race(writes)).then(() => next());
    });
  });
  // The decoded stream is bounded by what the manifest says the bundle holds: its files, plus per
  // member a tar header, a long-name header and padding, plus the end blocks.
  const limit = bundle.contentSize + (bundle.files + 1) * 2048 + 10240;
  let decoded = 0;
  const bound = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      decoded += chunk.length;
      if (decoded > limit)
        callback(
          new IntegrityError(
            `${url} unpacks to more than the ${bundle.contentSize} bytes of files the manifest says it holds`,
            { package: url },
          ),
        );
      else callback(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.from([bytes]),
      createDecompressor(bundle.path, { package: url, xzThreads: 1 }),
      bound,
      extract,
      { signal },
    );
  } finally {
    // Every write has settled before pull goes on, or fails: none is left renaming behind it.
    await Promise.all(writes);
  }
  if (writeError !== undefined) throw writeError;
  return { written, bytes: bytes.length };
}
