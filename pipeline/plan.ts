// Plan: which discovered packages need work, against the manifest. A kernel whose package
// (by sha256) was already converted, or already failed for a reason that will not change, is
// left alone, so a second run with nothing new downloads nothing.
import { fileListing, type FileListing } from "../archive/file-listing.ts";
import type { Manifest } from "../archive/manifest.ts";
import type { KernelPackage } from "../distros/types.ts";
import { keyPath } from "../distros/types.ts";

export type PlanReason = "new" | "changed-package" | "missing-file" | "retry-transient" | "retry-failed" | "previously-skipped";

export interface PlanOptions {
  archiveRoot: string;
  retryFailed: boolean;
}

export interface PlannedKernel {
  pkg: KernelPackage;
  reason: PlanReason;
}

export interface Plan {
  todo: PlannedKernel[];
  unchanged: KernelPackage[];
}

/** When a kernel comes up: why it needs work, or undefined when its manifest entry is current. `files` lists the archive. */
export async function planKernel(manifest: Manifest, pkg: KernelPackage, options: PlanOptions, files: FileListing): Promise<PlanReason | undefined> {
  const entry = manifest.kernels[keyPath(pkg.key)];
  if (!entry) return "new";
  if (entry.package.sha256 !== pkg.sha256) return "changed-package";
  if (entry.status === "ok" && !(entry.tarball && (await files.has(entry.tarball.path)))) return "missing-file";
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
  const files = fileListing(options.archiveRoot);
  for (const pkg of packages) {
    const reason = await planKernel(manifest, pkg, options, files);
    if (reason) todo.push({ pkg, reason });
    else unchanged.push(pkg);
  }
  return { todo, unchanged };
}
