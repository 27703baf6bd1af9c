// `btfmill pull`: the build-time side. Fetches the (optionally signed) manifest root and the parts
// of the sources asked for, then only the files that are missing or changed, each checked against
// its sha256 before it replaces anything: from their set's bundle for their arch when many are
// missing (pull-bundle.ts), else one request each, in parallel. Writes the same layout plus an `index.json`. A run that stopped halfway is
// resumed by running it again: finished files are kept, unfinished ones were never renamed in.
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import pLimit from "p-limit";
import { writeFileAtomically } from "../archive/atomic-write.ts";
import { ConfigError } from "../archive/errors.ts";
import { normalizeArch } from "./arch.ts";
import { unionSetName } from "../archive/manifest.ts";
import type { CdnBundle, CdnFile, CdnKernel } from "./cdn-manifest.ts";
import { pullFromBundle, type BundleWant } from "./pull-bundle.ts";
import { goEmbedSource } from "./pull-go.ts";
import { pullIndexName, type PullIndex } from "./pull-index.ts";
import { matchSources, openSiteManifest } from "./read-manifest.ts";
import { currentFile, fetchChecked } from "./pull-file.ts";
import { moduleFilePaths, pullModules, type ModuleWant } from "./pull-modules.ts";
import { openSite } from "./site-source.ts";

export interface PullOptions {
  from: string;
  out: string;
  set?: string;
  distro?: string;
  release?: string;
  arch?: string;
  publicKey?: string;
  /** Also fetch these modules' split BTF (lsmod names, or "all") and their base, for every kernel pulled that has them. */
  modules?: ModuleWant;
  /** Also write a Go file that embeds the pulled files and looks them up. */
  emitGo?: { packageName: string };
  /** How missing files come: their set's bundle for their arch, one request each, or (auto) whichever costs less. */
  via?: PullVia;
  jobs?: number;
  signal?: AbortSignal;
  onFile?: (key: string, action: "downloaded" | "unchanged") => void;
}

export interface PullSummary {
  downloaded: number;
  unchanged: number;
  removed: number;
  /** Bytes downloaded: files, and bundles whole. */
  bytes: number;
  /** Bundles downloaded, and the files taken from them (counted in `downloaded` too). */
  bundles: number;
  fromBundles: number;
  index: PullIndex;
}

export const pullVias = ["auto", "bundle", "files"] as const;
export type PullVia = (typeof pullVias)[number];

// Measured with test/bench/pull.ts --sweep: on loopback the two paths cost the same, the writes
// dominate; over a network each request costs a round trip, and the bundle costs its bytes and
// decoding all of its files. So: the bundle once it saves dozens of requests and downloads no
// more bytes than the missing files would alone.
const bundleMinFiles = 32;

function bundlePays(wants: readonly BundleWant[], bundle: CdnBundle): boolean {
  return wants.length >= bundleMinFiles && wants.reduce((sum, want) => sum + want.file.size, 0) >= bundle.size;
}

async function previousIndex(out: string): Promise<PullIndex | undefined> {
  try {
    return JSON.parse(await readFile(join(out, pullIndexName), "utf8")) as PullIndex;
  } catch {
    return undefined;
  }
}

/** When a project pulls BTF at build time: brings `out` up to date with the site. */
export async function pull(options: PullOptions): Promise<PullSummary> {
  const arch = options.arch === undefined ? undefined : normalizeArch(options.arch);
  if (options.arch !== undefined && arch === undefined)
    throw new ConfigError(`--arch ${options.arch} is not x86_64 or arm64`);
  const site = openSite(options.from);
  const reader = await openSiteManifest(site, { publicKey: options.publicKey, signal: options.signal });
  const manifest = reader.root;
  const set = options.set ?? unionSetName;
  if (!manifest.sets.some((known) => known.name === set)) {
    throw new ConfigError(`the site has no object set "${set}"`, {
      hint: `sets published: ${manifest.sets.map((known) => known.name).join(", ") || "none"}`,
    });
  }
  // Only the parts of the sources asked for are fetched.
  const selected = await reader.kernels(
    matchSources({ distro: options.distro, release: options.release, arch }),
    options.signal,
  );
  const fileOf = (entry: CdnKernel): CdnFile | undefined =>
    set === unionSetName ? entry.files.root : entry.files.sets[set];
  const index: PullIndex = {
    schemaVersion: 1,
    from: site.origin,
    set,
    generatedAt: manifest.generatedAt,
    kernels: {},
    hasBtf: [],
    failed: {},
  };
  for (const entry of selected) {
    const file = fileOf(entry);
    if (entry.status === "ok" && file)
      index.kernels[entry.key] = { path: `${entry.key}.btf`, sha256: file.sha256, size: file.size };
    else if (entry.status === "skipped" || entry.kernelHasBtf) index.hasBtf.push(entry.key);
    else index.failed[entry.key] = entry.reason ?? entry.coverage[set]?.error ?? `no file for set ${set}`;
  }

  const summary: PullSummary = { downloaded: 0, unchanged: 0, removed: 0, bytes: 0, bundles: 0, fromBundles: 0, index };
  const limit = pLimit(options.jobs ?? 8);
  const stale: (BundleWant & { arch: string })[] = [];
  await Promise.all(
    selected.map((entry) =>
      limit(async () => {
        const remote = fileOf(entry);
        const local = index.kernels[entry.key];
        if (remote === undefined || local === undefined) return;
        const target = join(options.out, local.path);
        if (await currentFile(target, remote)) {
          summary.unchanged += 1;
          options.onFile?.(entry.key, "unchanged");
          return;
        }
        stale.push({ key: entry.key, file: remote, target, arch: entry.arch });
      }),
    ),
  );

  // One mkdir per folder, not per file: both paths then only write and rename.
  await Promise.all(
    [...new Set(stale.map((want) => dirname(want.target)))].map((folder) => mkdir(folder, { recursive: true })),
  );
  const remaining = new Map(stale.map((want) => [want.key, want]));
  const via = options.via ?? "auto";
  for (const arch of [...new Set(stale.map((want) => want.arch))].sort()) {
    const wants = stale.filter((want) => want.arch === arch);
    const bundle = manifest.bundles.find((known) => known.set === set && known.arch === arch);
    if (via === "bundle" && bundle === undefined) {
      throw new ConfigError(`the site publishes no bundle of set "${set}" for ${arch}`, {
        hint: "pull with --via files (or auto)",
      });
    }
    if (bundle === undefined || !(via === "bundle" || (via === "auto" && bundlePays(wants, bundle)))) continue;
    const { written, bytes } = await pullFromBundle(site, bundle, wants, options.signal);
    summary.bundles += 1;
    summary.bytes += bytes;
    for (const key of written) {
      remaining.delete(key);
      summary.downloaded += 1;
      summary.fromBundles += 1;
      options.onFile?.(key, "downloaded");
    }
  }
  // One by one: all of them, or what no bundle held as the manifest describes it.
  await Promise.all(
    [...remaining.values()].map(({ key, file: remote, target }) =>
      limit(async () => {
        summary.bytes += await fetchChecked(site, remote, target, key, options.signal);
        summary.downloaded += 1;
        options.onFile?.(key, "downloaded");
      }),
    ),
  );

  const before = await previousIndex(options.out);
  if (options.modules !== undefined) {
    const pulled = await pullModules(site, selected, options.modules, options.out, limit, options.signal);
    index.modules = pulled.modules;
    summary.downloaded += pulled.downloaded;
    summary.unchanged += pulled.unchanged;
    summary.bytes += pulled.bytes;
  }
  // Files an earlier pull wrote and this one no longer wants go; nothing else in `out` is touched.
  for (const [key, file] of Object.entries(before?.kernels ?? {})) {
    if (index.kernels[key] === undefined) {
      await rm(join(options.out, file.path), { force: true });
      summary.removed += 1;
    }
  }
  const keptModules = new Set(moduleFilePaths(index.modules));
  for (const path of moduleFilePaths(before?.modules)) {
    if (keptModules.has(path)) continue;
    await rm(join(options.out, path), { force: true });
    summary.removed += 1;
  }
  index.hasBtf.sort();
  const sorted: PullIndex = {
    ...index,
    kernels: Object.fromEntries(Object.entries(index.kernels).sort(([a], [b]) => a.localeCompare(b))),
    ...(index.modules === undefined ? {} : { modules: index.modules }),
    failed: Object.fromEntries(Object.entries(index.failed).sort(([a], [b]) => a.localeCompare(b))),
  };
  await mkdir(options.out, { recursive: true });
  await writeFileAtomically(join(options.out, pullIndexName), `${JSON.stringify(sorted, null, 2)}\n`);
  if (options.emitGo)
    await writeFileAtomically(join(options.out, "btf_embed.go"), goEmbedSource(options.emitGo.packageName, sorted));
  return { ...summary, index: sorted };
}
