// How big the published tree is, and what takes the room, checked against the host's limit
// (GitHub Pages: sites of at most 1 GB). Checked twice: from the plan before anything is
// written (the placed files' sizes are in the manifest), and on the finished tree before it is
// switched in (bundles and manifests are only known once written). Either failure leaves the
// published tree as it was. Every path counts in full, hard links included: Pages' artifact is
// a tar of the tree with links dereferenced.
import { lstat, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { BtfmillError } from "../archive/errors.ts";
import { parseKernelPath } from "./cdn-layout.ts";
import type { PublishPlan } from "./publish-plan.ts";

/** GitHub Pages: "Published GitHub Pages sites may be no larger than 1 GB." */
export const githubPagesMaxBytes = 1_000_000_000;

export interface SiteShare {
  /** What the bytes are: `root (full BTF, no object set registered)`, `set net`, `bundles`, `full/ (--full tarballs)`, ... */
  what: string;
  bytes: number;
  files: number;
}

export interface SiteSize {
  bytes: number;
  files: number;
  /** The limit it was checked against. */
  maxBytes: number;
  /** Largest first. */
  shares: SiteShare[];
}

/** The tree would pass the host's size limit: nothing was switched in, the published tree stays. */
export class SiteTooLargeError extends BtfmillError {
  readonly size: SiteSize;

  constructor(size: SiteSize, stage: string) {
    super(
      `the site ${stage} ${describeBytes(size.bytes)}, over the limit of ${describeBytes(size.maxBytes)}: ${describeShares(size)}`,
      {
        hint: "register object sets so the root serves minified BTF, leave out --full, and keep full BTF in an object store or the release assets (btfmill release save); or raise site.maxBytes / --max-bytes for a host without this limit",
      },
    );
    this.size = size;
  }
}

/** When publish has planned the tree: the placed files' bytes alone, failing before anything is written. */
export function checkPlannedSize(plan: PublishPlan, maxBytes: number): SiteSize {
  const size = tally(
    plan.placements.map((placement) => ({ path: placement.to, bytes: placement.size })),
    rootLabel(plan),
    maxBytes,
  );
  if (size.bytes > maxBytes) throw new SiteTooLargeError(size, "would hold at least");
  return size;
}

/** When the new tree is complete, before the switch: every file's bytes, failing when over the limit. */
export async function checkTreeSize(tree: string, plan: PublishPlan, maxBytes: number): Promise<SiteSize> {
  const files: { path: string; bytes: number }[] = [];
  for (const entry of await readdir(tree, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.push({ path: relative(tree, path).split(sep).join("/"), bytes: (await lstat(path)).size });
  }
  const size = tally(files, rootLabel(plan), maxBytes);
  if (size.bytes > maxBytes) throw new SiteTooLargeError(size, "would be");
  return size;
}

/** `1.23 GB`, `456.7 MB`: decimal units, as the Pages limit is stated. */
export function describeBytes(bytes: number): string {
  for (const [unit, scale] of [
    ["GB", 1e9],
    ["MB", 1e6],
    ["KB", 1e3],
  ] as const) {
    if (bytes >= scale) return `${(bytes / scale).toFixed(bytes >= 100 * scale ? 0 : 2)} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** The shares as one line: `root (full BTF ...) 50.1 GB in 10000 files, bundles 3.2 MB in 2 files`. */
export function describeShares(size: SiteSize): string {
  return size.shares.map((share) => `${share.what} ${describeBytes(share.bytes)} in ${share.files} files`).join(", ");
}

function rootLabel(plan: PublishPlan): string {
  return plan.sets.some((set) => set.prefix === "" && set.form === "full")
    ? "root (full BTF, no object set registered)"
    : "root (minified BTF, all sets)";
}

function shareOf(path: string, root: string): string {
  const [top, name] = path.split("/");
  if (top === "sets" && name !== undefined) return `set ${name}`;
  if (top === "bundles") return "bundles";
  if (top === "full") return "full/ (--full tarballs)";
  return parseKernelPath(path) === undefined ? "manifests, indexes and page" : root;
}

function tally(files: { path: string; bytes: number }[], root: string, maxBytes: number): SiteSize {
  const shares = new Map<string, SiteShare>();
  for (const file of files) {
    const what = shareOf(file.path, root);
    const share = shares.get(what) ?? { what, bytes: 0, files: 0 };
    share.bytes += file.bytes;
    share.files += 1;
    shares.set(what, share);
  }
  return {
    bytes: files.reduce((n, file) => n + file.bytes, 0),
    files: files.length,
    maxBytes,
    shares: [...shares.values()].sort((a, b) => b.bytes - a.bytes || a.what.localeCompare(b.what)),
  };
}
