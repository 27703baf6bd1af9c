// The archive's state on disk: a small root, `manifest.json`, naming one part per source, and the
// parts, `state/<distro>/<release>/<arch>/<sha256>.json`, each holding that source's kernel entries.
// A run or a shard reads only the parts of the sources it works on, so its memory follows the
// largest part it loads, not the archive. Parts are named by their content and written before the
// root that names them; a part the root no longer names is removed only after the root is
// replaced, so a kill at any point leaves the root naming parts that are there, with those bytes.
// Each source's state (checked every run) lives in the root, so a run that finds nothing new
// rewrites the root alone. An archive of schema v1 (everything in manifest.json) is read as is and
// written in this form by its first commit.
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { z } from "zod";
import { writeFileAtomically } from "./atomic-write.ts";
import { FormatError, IntegrityError } from "./errors.ts";
import { sha256Hex, sha256Pattern, type FileDigest } from "./file-digest.ts";
import { pathExists } from "./file-listing.ts";
import { arches } from "./kernel-key.ts";
import { manifestFileName } from "./layout.ts";
import {
  emptyManifest,
  entrySchema,
  parseSingleFileManifest,
  sourceStateSchema,
  type Manifest,
  type ManifestEntry,
  type SourceState,
} from "./manifest.ts";
import { parseJson } from "./parse-json.ts";

export const manifestSchemaVersion = 2;
export const stateDirName = "state";

const partRefSchema = z.strictObject({
  /** Relative to the folder of the root: `state/<source>/<sha256>.json`. */
  path: z.string(),
  sha256: z.string().regex(sha256Pattern),
  size: z.int().nonnegative(),
  kernels: z.int().nonnegative(),
});

const rootSchema = z.strictObject({
  schemaVersion: z.literal(manifestSchemaVersion),
  generator: z.string(),
  updatedAt: z.string(),
  sources: z.record(
    z.string(),
    z.strictObject({ state: sourceStateSchema.optional(), part: partRefSchema.optional() }),
  ),
});

const partSchema = z.strictObject({
  schemaVersion: z.literal(manifestSchemaVersion),
  source: z.string(),
  kernels: z.record(z.string(), entrySchema),
});

export type PartRef = z.infer<typeof partRefSchema>;
export type StateRoot = z.infer<typeof rootSchema>;

// A source id becomes a path: each part a plain name (no `.`, `..` or separator), the arch a known one.
const segment = "[A-Za-z0-9][A-Za-z0-9._+~-]*";
const sourcePattern = new RegExp(`^${segment}/${segment}/(${arches.join("|")})$`);

/** Where a source's part with this content lives, relative to the folder of the root. */
export function partPath(source: string, sha256: string): string {
  return `${stateDirName}/${source}/${sha256}.json`;
}

/** `debian/12/x86_64` for the key `debian/12/x86_64/<kernel>`. */
export function sourceOfKernel(kernel: string): string {
  return kernel.split("/", 3).join("/");
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A part's bytes: keys sorted, so the same entries always give the same sha256. Not indented: a
 * part is read by machines, every run, and 200 parts of 500 kernels took 0.96 s to read, hash
 * and parse instead of 1.10 s indented, in 31% fewer bytes (the root stays indented).
 */
export function serializePart(source: string, kernels: Iterable<[string, ManifestEntry]>): string {
  const sorted = Object.fromEntries([...kernels].sort(([a], [b]) => byName(a, b)));
  return `${JSON.stringify({ schemaVersion: manifestSchemaVersion, source, kernels: sorted })}\n`;
}

/** Where a state's root and parts come from: a local archive, or a published site (`--state`). */
export interface StateStore {
  /** The root's file or URL, for messages. */
  where: string;
  updatedAt: string;
  /** Every source the root lists, with its state and its part. */
  sources: Map<string, { state?: SourceState | undefined; part?: PartRef | undefined }>;
  /** A schema v1 file: every part must be written at the first commit. */
  singleFile: boolean;
  /** The source's entries, checked against the root's digest; none when the root names no part. */
  readPart(source: string): Promise<Record<string, ManifestEntry>>;
}

/**
 * When a root's text has been read (from a folder or a site): the store it describes, whose parts
 * `fetch` reads by path (relative to the root's folder). Undefined text is a new, empty archive.
 */
export function stateStore(
  text: string | undefined,
  where: string,
  hint: string,
  fetch: (path: string, size: number) => Promise<Buffer>,
  options: { ownParts?: boolean } = {},
): StateStore {
  if (text === undefined) return { where, ...storeOf(emptyManifest()), singleFile: false };
  let version: unknown;
  try {
    version = (JSON.parse(text) as { schemaVersion?: unknown }).schemaVersion;
  } catch (cause) {
    throw new FormatError(`${where} is not JSON: ${(cause as Error).message}`, { hint, cause });
  }
  if (version === 1) return { where, ...storeOf(parseSingleFileManifest(text, where, hint)), singleFile: true };
  const root = parseJson(rootSchema, text, {
    where,
    misfit: `does not follow manifest schema v${manifestSchemaVersion}`,
    problems: 5,
    context: { hint },
  });
  for (const [source, { part }] of Object.entries(root.sources)) {
    if (!sourcePattern.test(source) || (part !== undefined && part.path !== partPath(source, part.sha256)))
      throw new FormatError(
        `${where} names source ${source} or its part ${part?.path} in a form btfmill does not write`,
        {
          hint,
        },
      );
  }
  return {
    where,
    updatedAt: root.updatedAt,
    sources: new Map(Object.entries(root.sources)),
    singleFile: false,
    async readPart(source) {
      const ref = root.sources[source]?.part;
      if (ref === undefined) return {};
      const bytes = await fetch(ref.path, ref.size);
      if (bytes.length !== ref.size || sha256Hex(bytes) !== ref.sha256) {
        throw new IntegrityError(`${ref.path} of ${where} does not have the sha256 and size its root names`, {
          hint: "the archive or site is being written or was altered: retry, or restore it from a backup",
        });
      }
      const partWhere = `${ref.path} of ${where}`;
      const part = options.ownParts
        ? ownPart(bytes, partWhere, hint)
        : parseJson(partSchema, bytes.toString("utf8"), {
            where: partWhere,
            misfit: `does not follow manifest schema v${manifestSchemaVersion}`,
            problems: 5,
            context: { hint },
          });
      const prefix = `${source}/`;
      const stray = Object.keys(part.kernels).find(
        (kernel) => !kernel.startsWith(prefix) || kernel.includes("/", prefix.length),
      );
      if (part.source !== source || stray !== undefined)
        throw new FormatError(`${ref.path} of ${where} holds ${stray ?? part.source}, not only source ${source}`, {
          hint,
        });
      return part.kernels;
    },
  };
}

// A part of the folder's own state, whose bytes matched the sha256 its checked root names: bytes
// btfmill wrote from entries of this schema, so only the part's frame is checked. Checking every
// entry again cost as much as parsing the JSON (about 2 s of a run over 100,000 kernels); a part
// from anywhere else (a site, `--state`) is checked entry by entry. The entries are checked in
// place: a zod record of loose objects copied each one, 500 objects of garbage per part.
const ownPartSchema = z.looseObject({
  schemaVersion: z.literal(manifestSchemaVersion),
  source: z.string(),
  kernels: z.custom<Record<string, ManifestEntry>>(isRecordOfObjects, "expected an object of kernel entries"),
});

function isRecordOfObjects(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key in value) if (!isPlainObject(value[key])) return false;
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function ownPart(bytes: Buffer, where: string, hint: string): z.infer<typeof partSchema> {
  return parseJson(ownPartSchema, bytes.toString("utf8"), {
    where,
    misfit: `does not follow manifest schema v${manifestSchemaVersion}`,
    problems: 5,
    context: { hint },
  }) as z.infer<typeof partSchema>;
}

// A whole manifest in memory (schema v1, or nothing yet) as a store.
function storeOf(manifest: Manifest): Omit<StateStore, "where" | "singleFile"> {
  const bySource = Map.groupBy(Object.entries(manifest.kernels), ([kernel]) => sourceOfKernel(kernel));
  const sources: StateStore["sources"] = new Map();
  for (const [source, state] of Object.entries(manifest.sources)) sources.set(source, { state });
  for (const [source, kernels] of bySource) {
    sources.set(source, {
      ...sources.get(source),
      part: { path: "", sha256: "", size: 0, kernels: kernels.length },
    });
  }
  return {
    updatedAt: manifest.updatedAt,
    sources,
    readPart: async (source) => Object.fromEntries(bySource.get(source) ?? []),
  };
}

/** When a command opens an archive folder: its root (absent: an empty archive) and a reader of its parts. */
export async function localStateStore(archiveRoot: string): Promise<StateStore> {
  const where = join(archiveRoot, manifestFileName);
  const text = await readFile(where, "utf8").catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === "ENOENT") return undefined;
    throw cause;
  });
  return stateStore(
    text,
    where,
    "restore the archive from the published site or a backup",
    async (path) => {
      try {
        return await readFile(join(archiveRoot, path));
      } catch (cause) {
        throw new IntegrityError(`${join(archiveRoot, path)}, named by ${where}, cannot be read`, {
          hint: "another command may be writing the archive: retry; else restore it from the published site or a backup",
          cause,
        });
      }
    },
    { ownParts: true },
  );
}

/** The archive's state as a command works on it: parts loaded on demand, changes committed atomically. */
export interface ArchiveState {
  readonly root: string;
  /**
   * Every source's state, and the entries of the parts loaded so far: a live view. Change an
   * entry through `record`, so its part is written at the next commit.
   */
  readonly manifest: Manifest;
  /** Every source the archive (and its seed) lists, with a part, a state or both, sorted. */
  sourceIds(): string[];
  /** How many kernels a source's part holds, loaded or not (the seed's not counted until loaded). */
  kernelCount(source: string): number;
  /** The entries of a loaded part. */
  entries(source: string): ManifestEntry[];
  /** Loads the parts of these sources into `manifest` (each once). */
  load(sources: Iterable<string>): Promise<void>;
  /** Loads every part: for the commands that need the whole archive (publish, list, merge). */
  loadAll(): Promise<Manifest>;
  /** Drops a loaded part from memory, unless it has changes not committed; says whether it did. */
  release(source: string): boolean;
  /** Sets a kernel's entry; its part is written at the next commit. */
  record(kernel: string, entry: ManifestEntry): void;
  /**
   * Writes a loaded part's changes to their own file now and drops the part from memory; the root
   * names that file from the next commit on, and the source cannot be loaded again before it. A
   * command that changes every source (merge) holds one part at a time and still replaces the root once.
   */
  flush(source: string): Promise<void>;
  /** Writes the changed parts, then the root naming them, then removes the parts it replaced. */
  commit(): Promise<void>;
}

/**
 * When a command opens an archive folder. With a `seed` (a published site, `--state`), a loaded
 * part also takes the seed's entries for kernels the folder lacks (the folder's are this machine's
 * newer results), and the folder's source states win over the seed's.
 */
export async function openArchiveState(root: string, options: { seed?: StateStore } = {}): Promise<ArchiveState> {
  const local = await localStateStore(root);
  const { seed } = options;
  let singleFile = local.singleFile;
  const refs = new Map<string, PartRef>();
  const sources: Record<string, SourceState> = {};
  for (const [source, { state }] of seed?.sources ?? []) if (state) sources[source] = state;
  for (const [source, { state, part }] of local.sources) {
    if (state) sources[source] = state;
    if (part) refs.set(source, part);
  }
  const seedUpdated = seed?.updatedAt ?? "";
  const manifest: Manifest = {
    generator: "btfmill",
    // biome-ignore lint/complexity/useMathMinMax: ISO dates are strings, which Math.max does not compare
    updatedAt: seedUpdated > local.updatedAt ? seedUpdated : local.updatedAt,
    sources,
    kernels: {},
  };
  const members = new Map<string, Set<string>>();
  const loading = new Map<string, Promise<void>>();
  const dirty = new Set<string>();
  // Parts written by `flush` that the root does not name yet.
  const flushed = new Set<string>();
  let commits = Promise.resolve();

  const loadOne = (source: string): Promise<void> => {
    let pending = loading.get(source);
    if (pending === undefined && flushed.has(source))
      return Promise.reject(new Error(`the part of ${source} was loaded again after it was flushed, before a commit`));
    if (pending === undefined) {
      pending = (async () => {
        const own = await local.readPart(source);
        const keys = new Set(Object.keys(own));
        Object.assign(manifest.kernels, own);
        if (singleFile) dirty.add(source);
        if (seed?.sources.get(source)?.part !== undefined) {
          for (const [kernel, entry] of Object.entries(await seed.readPart(source))) {
            if (keys.has(kernel)) continue;
            keys.add(kernel);
            manifest.kernels[kernel] = entry;
            dirty.add(source);
          }
        }
        members.set(source, keys);
      })();
      loading.set(source, pending);
      pending.catch(() => loading.delete(source));
    }
    return pending;
  };
  const sourceIds = () =>
    [...new Set([...Object.keys(manifest.sources), ...local.sources.keys(), ...(seed?.sources.keys() ?? [])])].sort(
      byName,
    );
  const load = async (ids: Iterable<string>) => {
    await Promise.all([...ids].map(loadOne));
  };

  return {
    root,
    manifest,
    sourceIds,
    kernelCount: (source) => members.get(source)?.size ?? refs.get(source)?.kernels ?? 0,
    entries: (source) => [...(members.get(source) ?? [])].map((kernel) => manifest.kernels[kernel]!),
    load,
    async loadAll() {
      await load(sourceIds());
      return manifest;
    },
    release,
    record(kernel, entry) {
      const source = sourceOfKernel(kernel);
      if (!members.has(source)) {
        throw new Error(`${kernel} recorded before the part of ${source} was loaded`);
      }
      manifest.kernels[kernel] = entry;
      members.get(source)!.add(kernel);
      dirty.add(source);
    },
    flush(source) {
      return serialized(async () => {
        if (dirty.has(source)) {
          await writeOne(source);
          dirty.delete(source);
          flushed.add(source);
        }
        release(source);
      });
    },
    commit() {
      return serialized(async () => {
        // The first commit of a v1 archive writes every part: its root will name them all.
        if (singleFile) await load(sourceIds().filter((source) => !flushed.has(source)));
        const changing = [...dirty];
        dirty.clear();
        try {
          for (const source of changing) await writeOne(source);
          await writeRoot(root, manifestFileName, rootOf(manifest, refs));
        } catch (error) {
          for (const source of changing) dirty.add(source);
          throw error;
        }
        singleFile = false;
        const replaced = [...new Set([...changing, ...flushed])];
        flushed.clear();
        await Promise.all(replaced.map((source) => removeOtherParts(root, source, refs.get(source))));
      });
    },
  };

  function release(source: string): boolean {
    if (dirty.has(source) || !members.has(source)) return false;
    for (const kernel of members.get(source)!) delete manifest.kernels[kernel];
    members.delete(source);
    loading.delete(source);
    return true;
  }

  async function writeOne(source: string): Promise<void> {
    const keys = members.get(source)!;
    if (keys.size === 0) refs.delete(source);
    else {
      const entries = [...keys].map((kernel): [string, ManifestEntry] => [kernel, manifest.kernels[kernel]!]);
      refs.set(source, await writePart(root, source, entries));
    }
  }

  // Writes one after another: a commit never sees a part half flushed.
  function serialized(write: () => Promise<void>): Promise<void> {
    const next = commits.then(write);
    commits = next.catch(() => {});
    return next;
  }
}

// Part files are written once under their content's name: an unchanged part is never rewritten.
async function writePart(dir: string, source: string, kernels: [string, ManifestEntry][]): Promise<PartRef> {
  const text = serializePart(source, kernels);
  const sha256 = sha256Hex(text);
  const ref = { path: partPath(source, sha256), sha256, size: Buffer.byteLength(text), kernels: kernels.length };
  const target = join(dir, ref.path);
  if (!(await pathExists(target))) {
    await mkdir(join(dir, stateDirName, source), { recursive: true });
    await writeFileAtomically(target, text);
  }
  return ref;
}

function rootOf(manifest: Manifest, refs: Map<string, PartRef>): StateRoot {
  const ids = [...new Set([...Object.keys(manifest.sources), ...refs.keys()])].sort(byName);
  return {
    schemaVersion: manifestSchemaVersion,
    generator: manifest.generator,
    updatedAt: manifest.updatedAt,
    sources: Object.fromEntries(
      ids.map((id) => {
        const state = manifest.sources[id];
        const part = refs.get(id);
        return [id, { ...(state ? { state } : {}), ...(part ? { part } : {}) }];
      }),
    ),
  };
}

async function writeRoot(dir: string, name: string, root: StateRoot): Promise<FileDigest> {
  const text = `${JSON.stringify(root, null, 2)}\n`;
  await writeFileAtomically(join(dir, name), text);
  return { sha256: sha256Hex(text), size: Buffer.byteLength(text) };
}

// After the root stopped naming them: the source's other parts (none left when it has no part).
async function removeOtherParts(dir: string, source: string, kept: PartRef | undefined): Promise<void> {
  const folder = join(dir, stateDirName, source);
  const names = await readdir(folder).catch(() => [] as string[]);
  const keep = kept === undefined ? undefined : basename(kept.path);
  await Promise.all(
    names
      .filter((name) => name !== keep && name.endsWith(".json"))
      .map((name) => rm(join(folder, name), { force: true })),
  );
}

/** When a command needs the whole archive at once (list, coverage, gen, tests): every source and entry. */
export async function readManifest(archiveRoot: string): Promise<Manifest> {
  return (await openArchiveState(archiveRoot)).loadAll();
}

/**
 * When a whole manifest becomes a folder's state (merge's result, publish's copy on the site, a
 * benchmark's archive): its parts, then its root as `rootName`, replacing what the folder held.
 * Returns the root's digest.
 */
export async function writeManifest(
  dir: string,
  manifest: Manifest,
  options: { rootName?: string } = {},
): Promise<FileDigest> {
  const refs = new Map<string, PartRef>();
  for (const [source, kernels] of Map.groupBy(Object.entries(manifest.kernels), ([kernel]) => sourceOfKernel(kernel)))
    refs.set(source, await writePart(dir, source, kernels));
  const digest = await writeRoot(dir, options.rootName ?? manifestFileName, rootOf(manifest, refs));
  const named = new Set([...refs.values()].map((ref) => ref.path));
  const files = await readdir(join(dir, stateDirName), { recursive: true, withFileTypes: true }).catch(() => []);
  await Promise.all(
    files
      .filter((file) => file.isFile() && file.name.endsWith(".json"))
      .map((file) => join(file.parentPath, file.name))
      .filter((path) => !named.has(relative(dir, path)))
      .map((path) => rm(path, { force: true })),
  );
  return digest;
}
