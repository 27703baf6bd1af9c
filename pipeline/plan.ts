// Plan: which discovered packages need work, against the manifest. A kernel whose package
// (by sha256) was already converted, or already failed for a reason that will not change, is
// left alone, so a second run with nothing new downloads nothing.
import { moduleSelectionKey } from "./module-selection.ts";
import { toolchainIdentity, type Manifest, type ManifestEntry } from "../archive/manifest.ts";
import type { KernelPackage } from "../distros/types.ts";
import { keyPath } from "../archive/kernel-key.ts";
import type { ObjectSet } from "./object-registry.ts";
import { setsToMinify } from "./minify-pass.ts";
import type { ArchiveFiles } from "../site/state/archive-files.ts";
import { walkChain, type FlavorChain } from "./flavor-chains.ts";

export type PlanReason =
  | "new"
  | "changed-package"
  | "missing-file"
  | "retry-transient"
  | "retry-failed"
  | "previously-skipped"
  | "other-toolchain"
  | "modules-changed";

export interface PlanOptions {
  files: ArchiveFiles;
  /** The registered object sets: whether a kernel's full BTF is still needed depends on them. */
  sets: ObjectSet[];
  retryFailed: boolean;
  /** With `run --reconvert`: the current toolchain's identity; kernels converted by another are done again. */
  reconvertUnless?: string | undefined;
}

export interface PlannedKernel {
  pkg: KernelPackage;
  reason: PlanReason;
}

export interface Plan {
  todo: PlannedKernel[];
  unchanged: KernelPackage[];
}

// A local archive must hold every kernel's full BTF. Started from a published site, a kernel's full
// BTF is fetched from the site when a set needs minifying; a site without it (a minified-only CDN)
// makes the kernel worth converting again only then.
async function fullBtfMissing(entry: ManifestEntry, options: PlanOptions): Promise<boolean> {
  if (entry.tarball !== undefined && (await options.files.has(entry.tarball))) return false;
  return options.files.complete || (await setsToMinify(entry, options.sets, options.files)).length > 0;
}

// A kernel converted with other modules than the source now selects is converted again.
function sameModuleSelection(recorded: "all" | string[] | undefined, wanted: KernelPackage["modules"]): boolean {
  if (recorded === undefined || wanted === undefined) return recorded === undefined && wanted === undefined;
  return JSON.stringify(recorded) === JSON.stringify(moduleSelectionKey(wanted));
}

/** When a kernel comes up: why it needs work, or undefined when its manifest entry is current. */
export async function planKernel(
  manifest: Manifest,
  pkg: KernelPackage,
  options: PlanOptions,
): Promise<PlanReason | undefined> {
  const entry = manifest.kernels[keyPath(pkg.key)];
  if (!entry) return "new";
  if (entry.package.sha256 !== pkg.sha256) return "changed-package";
  if (entry.status === "ok" && (await fullBtfMissing(entry, options))) return "missing-file";
  // Another toolchain's BTF stays unless asked: it is valid, only not the bytes the current one makes.
  // The kernel's own .BTF (kernelsWithBtf "own") was made by no toolchain of ours.
  if (
    entry.status === "ok" &&
    entry.ownBtf !== true &&
    options.reconvertUnless !== undefined &&
    toolchainIdentity(entry) !== options.reconvertUnless
  )
    return "other-toolchain";
  if (entry.status === "ok" && !sameModuleSelection(entry.modules?.selected, pkg.modules)) return "modules-changed";
  if (entry.status === "failed" && entry.transient) return "retry-transient";
  if (entry.status === "failed" && options.retryFailed) return "retry-failed";
  // Reaching a skipped kernel means the reason to skip it no longer holds (config or archive changed).
  if (entry.status === "skipped") return "previously-skipped";
  return undefined;
}

/** When discovery is done: splits packages into work to do and work already done. */
export async function planRun(manifest: Manifest, packages: KernelPackage[], options: PlanOptions): Promise<Plan> {
  const todo: PlannedKernel[] = [];
  const unchanged: KernelPackage[] = [];
  for (const pkg of packages) {
    const reason = await planKernel(manifest, pkg, options);
    if (reason) todo.push({ pkg, reason });
    else unchanged.push(pkg);
  }
  return { todo, unchanged };
}

/** When a chain's walk reaches a kernel past the first with BTF: whether its skip is already recorded. */
export function skipRecorded(previous: ManifestEntry | undefined, pkg: KernelPackage): boolean {
  return previous?.status === "ok" || (previous?.status === "skipped" && previous.package.sha256 === pkg.sha256);
}

/**
 * When a source's part is loaded: whether walking its chains would change an entry (a kernel to
 * convert, or a skip to record). A source without such work and without minifying due needs its
 * part no longer, so a run over many sources holds only the parts it works on.
 */
export async function chainsHaveWork(
  manifest: Manifest,
  chains: FlavorChain[],
  options: PlanOptions,
): Promise<boolean> {
  let work = false;
  for (const chain of chains) {
    await walkChain(
      chain,
      async (pkg) => {
        if ((await planKernel(manifest, pkg, options)) !== undefined) work = true;
        return manifest.kernels[keyPath(pkg.key)];
      },
      async (pkg) => {
        if (!skipRecorded(manifest.kernels[keyPath(pkg.key)], pkg)) work = true;
      },
    );
    if (work) return true;
  }
  return false;
}
