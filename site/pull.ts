// `btfmill pull`: the build-time side. Fetches the (optionally signed) manifest, then only the
// files that are missing or changed, in parallel, each checked against its sha256 before it
// replaces anything; writes the same layout plus an `index.json`. A run that stopped halfway is
// resumed by running it again: finished files are kept, unfinished ones were never renamed in.
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import pLimit from "p-limit";
import { writeAtomically, writeFileAtomically } from "../archive/atomic-write.ts";
import { digestFile } from "../archive/file-digest.ts";
import { ConfigError, IntegrityError } from "../pipeline/errors.ts";
import { normalizeArch } from "./arch.ts";
import { rootSetName } from "./cdn-layout.ts";
import type { CdnFile, CdnKernel } from "./cdn-manifest.ts";
import { goEmbedSource } from "./pull-go.ts";
import { readSiteManifest } from "./read-manifest.ts";
import { openSite } from "./site-source.ts";

export interface PullOptions {
  from: string;
  out: string;
  set?: string;
  distro?: string;
  release?: string;
  arch?: string;
  publicKey?: string;
  /** Also write a Go file that embeds the pulled files and looks them up. */
  emitGo?: { packageName: string };
  jobs?: number;
  signal?: AbortSignal;
  onFile?: (key: string, action: "downloaded" | "unchanged") => void;
}

export interface PullIndex {
  schemaVersion: 1;
  from: string;
  set: string;
  /** When the site's manifest was generated. */
  generatedAt: string;
  /** Kernel key -> its file in this folder. */
  kernels: Record<string, CdnFile>;
  /** Kernels that ship their own BTF: no file needed. */
  hasBtf: string[];
  /** Kernels btfmill could not make BTF for, with the reason. */
  failed: Record<string, string>;
}

export interface PullSummary {
  downloaded: number;
  unchanged: number;
  removed: number;
  bytes: number;
  index: PullIndex;
}

export const pullIndexName = "index.json";

async function currentFile(path: string, file: CdnFile): Promise<boolean> {
  try {
    const local = await digestFile(path);
    return local.size === file.size && local.sha256 === file.sha256;
  } catch {
    return false;
  }
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
  const site = openSite(options.from);
  const manifest = await readSiteManifest(site, { publicKey: options.publicKey, signal: options.signal });
  const set = options.set ?? rootSetName;
  if (!manifest.sets.some((known) => known.name === set)) {
    throw new ConfigError(`the site has no object set "${set}"`, { hint: `sets published: ${manifest.sets.map((known) => known.name).join(", ") || "none"}` });
  }
  const arch = options.arch === undefined ? undefined : normalizeArch(options.arch);
  if (options.arch !== undefined && arch === undefined) throw new ConfigError(`--arch ${options.arch} is not x86_64 or arm64`);
  const selected = manifest.kernels.filter(
    (entry) =>
      (options.distro === undefined || entry.distro === options.distro) &&
      (options.release === undefined || entry.release === options.release) &&
      (arch === undefined || entry.arch === arch),
  );
  const fileOf = (entry: CdnKernel): CdnFile | undefined => (set === rootSetName ? entry.files.root : entry.files.sets[set]);
  const index: PullIndex = { schemaVersion: 1, from: site.origin, set, generatedAt: manifest.generatedAt, kernels: {}, hasBtf: [], failed: {} };
  for (const entry of selected) {
    const file = fileOf(entry);
    if (entry.status === "ok" && file) index.kernels[entry.key] = { path: `${entry.key}.btf`, sha256: file.sha256, size: file.size };
    else if (entry.status === "skipped" || entry.kernelHasBtf) index.hasBtf.push(entry.key);
    else index.failed[entry.key] = entry.reason ?? entry.coverage[set]?.error ?? `no file for set ${set}`;
  }

  const summary: PullSummary = { downloaded: 0, unchanged: 0, removed: 0, bytes: 0, index };
  const limit = pLimit(options.jobs ?? 8);
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
        const bytes = await site.read(remote.path, remote.size, options.signal);
        const sha256 = createHash("sha256").update(bytes).digest("hex");
        if (sha256 !== remote.sha256 || bytes.length !== remote.size) {
          throw new IntegrityError(`${site.locate(remote.path)} has sha256 ${sha256} (${bytes.length} bytes), the manifest says ${remote.sha256} (${remote.size})`, {
            kernel: entry.key,
            package: site.locate(remote.path),
            hint: "the site is being republished or the file was altered: pull again later; nothing was replaced",
          });
        }
        await mkdir(dirname(target), { recursive: true });
        await writeAtomically(target, (temp) => writeFile(temp, bytes));
        summary.downloaded += 1;
        summary.bytes += bytes.length;
        options.onFile?.(entry.key, "downloaded");
      }),
    ),
  );

  // Files an earlier pull wrote and this one no longer wants go; nothing else in `out` is touched.
  const before = await previousIndex(options.out);
  for (const [key, file] of Object.entries(before?.kernels ?? {})) {
    if (index.kernels[key] === undefined) {
      await rm(join(options.out, file.path), { force: true });
      summary.removed += 1;
    }
  }
  index.hasBtf.sort();
  const sorted: PullIndex = {
    ...index,
    kernels: Object.fromEntries(Object.entries(index.kernels).sort(([a], [b]) => a.localeCompare(b))),
    failed: Object.fromEntries(Object.entries(index.failed).sort(([a], [b]) => a.localeCompare(b))),
  };
  await mkdir(options.out, { recursive: true });
  await writeFileAtomically(join(options.out, pullIndexName), `${JSON.stringify(sorted, null, 2)}\n`);
  if (options.emitGo) await writeFileAtomically(join(options.out, "btf_embed.go"), goEmbedSource(options.emitGo.packageName, sorted));
  return { ...summary, index: sorted };
}
