// The index asset: which assets hold the archive, by part, each with its sha256 and size, and the
// state files inside the state part. Its name carries a generation number that each save raises:
// a save uploads the new index beside the old one and only then deletes what the old one alone
// named, so the newest index on the release always names assets that are there.
import { z } from "zod";
import { sha256Pattern } from "../../archive/file-digest.ts";
import { parseJson } from "../../archive/parse-json.ts";
import { statePartId } from "./archive-parts.ts";

export const releaseIndexSchemaId = "btfmill-release-index";
export const releaseIndexSchemaVersion = 1;

const digest = { sha256: z.string().regex(sha256Pattern), size: z.int().nonnegative() };

const indexSchema = z.strictObject({
  schema: z.literal(releaseIndexSchemaId),
  schemaVersion: z.literal(releaseIndexSchemaVersion),
  generation: z.int().positive(),
  savedAt: z.string(),
  /** The largest asset the save made; a part's tar larger than this was cut into pieces. */
  maxAssetBytes: z.int().positive(),
  parts: z.array(
    z.strictObject({
      /** `<distro>/<release>/<arch>`, or `state`. */
      id: z.string().min(1),
      /** Of the part's whole tar (its pieces joined), and how many files it holds. */
      ...digest,
      files: z.int().nonnegative(),
      compression: z.enum(["none", "gzip"]),
      /** The pieces in order; joined they are the part's tar. */
      assets: z.array(z.strictObject({ name: z.string().min(1), ...digest })).min(1),
    }),
  ),
  /** The archive's state files (in the state part), each with its digest. */
  state: z.array(z.strictObject({ path: z.string().min(1), ...digest })),
});

export type ReleaseIndex = z.infer<typeof indexSchema>;
export type IndexPart = ReleaseIndex["parts"][number];
export type IndexAsset = IndexPart["assets"][number];

const indexName = /^btfmill-index\.(\d+)\.json$/;

/** The index asset of generation `generation`. */
export function indexAssetName(generation: number): string {
  return `btfmill-index.${generation}.json`;
}

/** The generation an asset name is the index of, or undefined when it is no index. */
export function indexGeneration(name: string): number | undefined {
  const match = indexName.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * An asset name GitHub keeps as is (letters, digits, `.`, `_`, `-`): the source with `_` for `/`
 * (`debian_12_x86_64`), the part's sha256 prefix so a changed part never takes an old asset's
 * name, and `.001`, `.002` ... for pieces, so `cat` joins them as `split` would have cut them.
 */
export function partAssetName(part: { id: string; sha256: string }, piece: number, pieces: number): string {
  const base = `${part.id.replaceAll("/", "_")}-${part.sha256.slice(0, 12)}.tar${part.id === statePartId ? ".gz" : ""}`;
  return pieces === 1 ? base : `${base}.${String(piece + 1).padStart(3, "0")}`;
}

/** When an index is downloaded: parsed and checked, or a FormatError naming the asset. */
export function parseReleaseIndex(text: string, name: string): ReleaseIndex {
  return parseJson(indexSchema, text, {
    where: `release asset ${name}`,
    misfit: `does not follow ${releaseIndexSchemaId} v${releaseIndexSchemaVersion}`,
    problems: 5,
    context: { package: name, hint: "save the archive again with this btfmill (btfmill release save)" },
  });
}
