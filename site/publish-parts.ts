// The manifest's parts: the kernel records of each source in a file of their own, named with its
// sha256 by the signed root. A part holds only its source's records, sorted, so its bytes change
// only when one of its kernels does, and a consumer of one source downloads one part.
import pLimit from "p-limit";
import type { Arch } from "../archive/kernel-key.ts";
import { cdnPartPath } from "./cdn-layout.ts";
import {
  cdnPartSchema,
  cdnPartSchemaId,
  cdnSchemaVersion,
  type CdnKernel,
  type CdnPart,
  type CdnPartRef,
} from "./cdn-manifest.ts";
import { writeJsonFile } from "./publish-json.ts";

/** When publish writes the manifest: one part per source that has kernels, and the refs the root lists. */
export async function writeParts(treeRoot: string, kernels: readonly CdnKernel[]): Promise<CdnPartRef[]> {
  const bySource = new Map<string, { distro: string; release: string; arch: Arch; kernels: CdnKernel[] }>();
  for (const kernel of kernels) {
    const id = `${kernel.distro}/${kernel.release}/${kernel.arch}`;
    const group = bySource.get(id) ?? {
      distro: kernel.distro,
      release: kernel.release,
      arch: kernel.arch,
      kernels: [],
    };
    group.kernels.push(kernel);
    bySource.set(id, group);
  }
  const writing = pLimit(8);
  const groups = [...bySource.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, group]) => group);
  return Promise.all(
    groups.map((group) =>
      writing(async () => {
        const part = cdnPartSchema.parse({
          schema: cdnPartSchemaId,
          schemaVersion: cdnSchemaVersion,
          distro: group.distro,
          release: group.release,
          arch: group.arch,
          kernels: [...group.kernels].sort((a, b) => a.key.localeCompare(b.key)),
        } satisfies CdnPart);
        const { file } = await writeJsonFile(treeRoot, cdnPartPath(group), part);
        return {
          ...file,
          distro: group.distro,
          release: group.release,
          arch: group.arch,
          kernels: part.kernels.length,
        };
      }),
    ),
  );
}
