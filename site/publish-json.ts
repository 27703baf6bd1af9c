// JSON files of the tree, written with gzip and brotli siblings (`.gz`, `.br`) made once at
// publish time: `serve` and hosts that honour precompressed files (nginx gzip_static) send those.
import { mkdir, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import { dirname, join } from "node:path";
import { digestFile } from "../archive/file-digest.ts";
import type { CdnFile } from "./cdn-manifest.ts";

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** When publish writes manifest.json, the index or the schema: the exact bytes and their digest. */
export async function writeJsonFile(
  treeRoot: string,
  path: string,
  value: unknown,
): Promise<{ bytes: Buffer; file: CdnFile }> {
  const bytes = Buffer.from(`${JSON.stringify(value, null, 1)}\n`);
  const target = join(treeRoot, path);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, bytes);
  // Highest levels: written once per publish, downloaded by every client. Brotli's top level is
  // too slow for the archive manifest of a large archive (its MB/s against quality 6's: the
  // `brotli quality` rows of test/bench/in-process.ts), hence a lower one there.
  const brotliQuality = bytes.length <= 8 * 1024 * 1024 ? 11 : 6;
  await writeFile(`${target}.gz`, await gzipAsync(bytes, { level: 9 }));
  await writeFile(
    `${target}.br`,
    await brotliAsync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: brotliQuality, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }),
  );
  return { bytes, file: { path, ...(await digestFile(target)) } };
}
