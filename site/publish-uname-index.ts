// `index/uname.json`: uname -r -> the keys that carry it. The same uname -r can exist under
// several distros and releases (Ubuntu HWE kernels, rebuilds), and a container's os-release names
// the image's distro, not the host's, so lookup needs a way in from the kernel release alone.
import type { CdnKernel, UnameIndex } from "./cdn-manifest.ts";
import { unameIndexSchemaVersion } from "./cdn-manifest.ts";

/** When publish writes the index: every kernel, grouped by uname -r, keys sorted. */
export function buildUnameIndex(kernels: CdnKernel[]): UnameIndex {
  const byUname: UnameIndex["kernels"] = {};
  for (const kernel of [...kernels].sort((a, b) => a.key.localeCompare(b.key))) {
    (byUname[kernel.kernel] ??= []).push({ key: kernel.key, status: kernel.status });
  }
  const sorted = Object.fromEntries(Object.entries(byUname).sort(([a], [b]) => a.localeCompare(b)));
  return { schemaVersion: unameIndexSchemaVersion, kernels: sorted };
}
