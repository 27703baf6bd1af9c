// Plan: which discovered packages need work, against the manifest. A kernel whose package
// (by sha256) was already converted, or already failed for a reason that will not change, is
// left alone, so a second run with nothing new downloads nothing.
import { access } from "node:fs/promises";
import { join } from "node:path";
import type { Manifest } from "../archive/manifest.ts";
import type { KernelPackage } from "../distros/types.ts";
import { keyPath } from "../distros/types.ts";

export type PlanReason = "new" | "changed-package" | "missing-file" | "retry-transient" | "retry-failed";

export interface PlannedKernel {
  pkg: KernelPackage;
  reason: PlanReason;
}

export interface Plan {
  todo: PlannedKernel[];
  unchanged: KernelPackage[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** When discovery is done: splits packages into work to do and work already done. */
export async function planRun(manifest: Manifest, packages: KernelPackage[], options: { archiveRoot: string; retryFailed: boolean }): Promise<Plan> {
  const todo: PlannedKernel[] = [];
  const unchanged: KernelPackage[] = [];
  for (const pkg of packages) {
    const entry = manifest.kernels[keyPath(pkg.key)];
    let reason: PlanReason | undefined;
    if (!entry) reason = "new";
    else if (entry.package.sha256 !== pkg.sha256) reason = "changed-package";
    else if (entry.status === "ok" && !(entry.tarball && (await exists(join(options.archiveRoot, entry.tarball.path))))) reason = "missing-file";
    else if (entry.status === "failed" && entry.transient) reason = "retry-transient";
    else if (entry.status === "failed" && options.retryFailed) reason = "retry-failed";
    if (reason) todo.push({ pkg, reason });
    else unchanged.push(pkg);
  }
  return { todo, unchanged };
}
