// `pull --modules`: each pulled kernel's modules' split BTF, and the full BTF they are split
// against, into `<key>.modules/` (vmlinux.btf and <module>.btf, as /sys/kernel/btf lays them
// out on a kernel with BTF), each checked against the sha256 the site's manifest gives.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { LimitFunction } from "p-limit";
import { moduleName } from "../distros/packages/module-members.ts";
import { moduleBaseName, moduleFileName } from "./cdn-layout.ts";
import type { CdnFile, CdnKernel } from "./cdn-manifest.ts";
import { currentFile, fetchChecked } from "./pull-file.ts";
import type { PulledModules } from "./pull-index.ts";
import type { SiteSource } from "./site-source.ts";

/** Module names as lsmod prints them (`-` and `_` are one), or every module the site has. */
export type ModuleWant = "all" | readonly string[];

export interface PulledModulesSummary {
  modules: Record<string, PulledModules>;
  downloaded: number;
  unchanged: number;
  bytes: number;
}

/** When pull has brought the kernels' files: brings the wanted modules of each `ok` kernel beside them. */
export async function pullModules(
  site: SiteSource,
  kernels: readonly CdnKernel[],
  want: ModuleWant,
  out: string,
  limit: LimitFunction,
  signal?: AbortSignal,
): Promise<PulledModulesSummary> {
  const summary: PulledModulesSummary = { modules: {}, downloaded: 0, unchanged: 0, bytes: 0 };
  const named = want === "all" ? undefined : [...new Set(want.map(moduleName))].sort();
  const fetches: { kernel: string; remote: CdnFile; local: string }[] = [];
  for (const kernel of kernels) {
    if (kernel.status !== "ok") continue;
    const offered = kernel.files.moduleFiles ?? {};
    const names = named ?? Object.keys(offered).sort();
    const present = names.filter((name) => offered[name] !== undefined);
    const missing = names.filter((name) => offered[name] === undefined);
    if (names.length === 0) continue;
    const dir = `${kernel.key}.modules`;
    const record: PulledModules = { files: {} };
    for (const name of present) {
      const remote = offered[name]!;
      const local = `${dir}/${moduleFileName(name)}`;
      record.files[name] = { path: local, sha256: remote.sha256, size: remote.size };
      fetches.push({ kernel: kernel.key, remote, local });
      // Every module of a kernel names the same base, the kernel's full BTF.
      if (record.base === undefined) {
        record.base = { path: `${dir}/${moduleBaseName}`, sha256: remote.base.sha256, size: remote.base.size };
        fetches.push({ kernel: kernel.key, remote: remote.base, local: record.base.path });
      }
    }
    if (missing.length > 0) record.missing = missing;
    summary.modules[kernel.key] = record;
  }
  await Promise.all(
    [...new Set(fetches.map(({ local }) => join(out, local, "..")))].map((dir) => mkdir(dir, { recursive: true })),
  );
  await Promise.all(
    fetches.map(({ kernel, remote, local }) =>
      limit(async () => {
        const target = join(out, local);
        if (await currentFile(target, remote)) {
          summary.unchanged += 1;
          return;
        }
        summary.bytes += await fetchChecked(site, remote, target, kernel, signal);
        summary.downloaded += 1;
      }),
    ),
  );
  return summary;
}

/** When a pull removes what it no longer wants: every file path an index's modules name. */
export function moduleFilePaths(modules: Record<string, PulledModules> | undefined): string[] {
  return Object.values(modules ?? {}).flatMap((record) => [
    ...(record.base === undefined ? [] : [record.base.path]),
    ...Object.values(record.files).map((file) => file.path),
  ]);
}
