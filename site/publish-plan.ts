// Decides what the published tree holds, from the archive's manifest alone: the kernel records of
// the CDN manifest and the archive files to place under their site paths. No I/O here.
import { btfMemberName, moduleMemberName } from "../archive/layout.ts";
import { keyPath } from "../archive/kernel-key.ts";
import type { Manifest, ManifestEntry, MinifiedRecord } from "../archive/manifest.ts";
import type { CdnKernel, CdnSet, CdnSetCoverage, CdnSource } from "./cdn-manifest.ts";
import {
  fullModulesDir,
  fullModulesTarballPath,
  fullTarballPath,
  moduleBaseName,
  moduleFileName,
  setBtfPath,
} from "./cdn-layout.ts";
import { unionSetName } from "../archive/manifest.ts";

/** One archive file to place in the tree, with the digest the archive vouches for. */
export interface Placement {
  /** Relative to the archive root. */
  from: string;
  /** Relative to the site root. */
  to: string;
  sha256: string;
  size: number;
  /** Place one member of the tarball at `from` instead of the file itself; `from`'s own digest, for fetching it. */
  extract?: { member: string; sha256: string; size: number };
}

export interface PublishPlan {
  sources: CdnSource[];
  sets: CdnSet[];
  kernels: CdnKernel[];
  placements: Placement[];
}

/** When publish starts: maps the archive manifest onto the site layout. */
export function planPublish(archive: Manifest, options: { full: boolean }): PublishPlan {
  const placements: Placement[] = [];
  const minifiedSets = objectSets(Object.values(archive.kernels));
  // No object set registered: the root serves each kernel's full BTF, what a consumer would
  // otherwise download from BTFHub and minify itself.
  const rootForm = minifiedSets.length === 0 ? "full" : "minified";
  const kernels = Object.values(archive.kernels)
    .map((entry) => kernelRecord(entry, { full: options.full, rootForm }, placements))
    .sort((a, b) => a.key.localeCompare(b.key));
  const fullRoot: CdnSet = { name: unionSetName, prefix: "", form: "full", fingerprint: "", objects: [] };
  const sources = Object.entries(archive.sources)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, state]) => ({
      id,
      status: state.status,
      ...(state.reason === undefined ? {} : { reason: state.reason }),
      insecure: state.insecure ?? false,
      ...(state.refreshedAt === undefined ? {} : { refreshedAt: state.refreshedAt }),
      checkedAt: state.checkedAt,
    }));
  return { sources, sets: rootForm === "full" ? [fullRoot] : minifiedSets, kernels, placements };
}

function kernelRecord(
  entry: ManifestEntry,
  options: { full: boolean; rootForm: "minified" | "full" },
  placements: Placement[],
): CdnKernel {
  const { key } = entry;
  const keyText = keyPath(key);
  const files: CdnKernel["files"] = { sets: {} };
  const coverage: Record<string, CdnSetCoverage> = {};
  // A failed or skipped entry keeps no files even if an older run left some in the archive.
  const published = entry.status === "ok";
  for (const [set, record] of Object.entries(entry.minified ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    coverage[set] = summarizeCoverage(record);
    if (!published || !record.file) continue;
    const placement = {
      from: record.file.path,
      to: setBtfPath(set, key),
      sha256: record.file.sha256,
      size: record.file.size,
    };
    placements.push(placement);
    const ref = { path: placement.to, sha256: placement.sha256, size: placement.size, form: "minified" as const };
    if (set === unionSetName) files.root = ref;
    else files.sets[set] = ref;
  }
  if (published && options.rootForm === "full" && entry.tarball && entry.btf) {
    const { tarball, btf } = entry;
    const placement = {
      from: tarball.path,
      to: setBtfPath(unionSetName, key),
      ...btf,
      extract: { member: btfMemberName(key), sha256: tarball.sha256, size: tarball.size },
    };
    placements.push(placement);
    files.root = { path: placement.to, sha256: btf.sha256, size: btf.size, form: "full" };
  }
  if (published && options.full && entry.tarball) {
    const placement = {
      from: entry.tarball.path,
      to: fullTarballPath(key),
      sha256: entry.tarball.sha256,
      size: entry.tarball.size,
    };
    placements.push(placement);
    files.full = { path: placement.to, sha256: placement.sha256, size: placement.size };
    const modules = entry.modules?.tarball;
    if (modules !== undefined) {
      const modulesPlacement = {
        from: modules.path,
        to: fullModulesTarballPath(key),
        sha256: modules.sha256,
        size: modules.size,
      };
      placements.push(modulesPlacement);
      files.modules = { path: modulesPlacement.to, sha256: modulesPlacement.sha256, size: modulesPlacement.size };
      if (entry.btf !== undefined) files.moduleFiles = moduleFiles(entry, placements);
    }
  }
  return {
    key: keyText,
    ...key,
    flavor: entry.flavor,
    status: entry.status,
    ...(entry.reason === undefined ? {} : { reason: entry.reason }),
    // A skipped kernel was never downloaded: it is skipped because its flavor already ships BTF.
    kernelHasBtf: entry.kernelHasBtf ?? entry.status === "skipped",
    ...(published && entry.btf ? { btf: entry.btf } : {}),
    files,
    coverage,
    package: { name: entry.package.name, version: entry.package.version },
    updatedAt: entry.updatedAt,
  };
}

// Each module's split BTF out of the modules tarball, and the kernel's full BTF out of its own, as raw files.
function moduleFiles(entry: ManifestEntry, placements: Placement[]): NonNullable<CdnKernel["files"]["moduleFiles"]> {
  const { key, tarball, btf, modules } = entry;
  const dir = fullModulesDir(key);
  const base = { path: `${dir}/${moduleBaseName}`, ...btf! };
  placements.push({
    from: tarball!.path,
    to: base.path,
    ...btf!,
    extract: { member: btfMemberName(key), sha256: tarball!.sha256, size: tarball!.size },
  });
  const modulesTarball = modules!.tarball!;
  return Object.fromEntries(
    Object.entries(modules!.files)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, file]) => {
        const path = `${dir}/${moduleFileName(name)}`;
        placements.push({
          from: modulesTarball.path,
          to: path,
          sha256: file.sha256,
          size: file.size,
          extract: { member: moduleMemberName(name), sha256: modulesTarball.sha256, size: modulesTarball.size },
        });
        return [name, { path, sha256: file.sha256, size: file.size, base }];
      }),
  );
}

function summarizeCoverage(record: MinifiedRecord): CdnSetCoverage {
  const objects = record.coverage.map((object) => ({
    object: object.object,
    sha256: object.sha256,
    total: object.total,
    resolved: object.resolved,
    guarded: object.guarded.length,
    unresolved: object.unresolved.length,
    ...(object.resolvedInModules === undefined ? {} : { resolvedInModules: countByModule(object.resolvedInModules) }),
  }));
  const sum = (field: "total" | "resolved" | "guarded" | "unresolved") =>
    objects.reduce((n, object) => n + object[field], 0);
  return {
    fingerprint: record.fingerprint,
    total: sum("total"),
    resolved: sum("resolved"),
    guarded: sum("guarded"),
    unresolved: sum("unresolved"),
    objects,
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.modules === undefined || record.modules.merged.length === 0 ? {} : { modules: record.modules.merged }),
  };
}

function countByModule(hits: readonly { module: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { module } of [...hits].sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : 0)))
    counts[module] = (counts[module] ?? 0) + 1;
  return counts;
}

// A set's current fingerprint is the newest kernel's: the minify pass re-minifies every kernel when
// it changes, so older fingerprints only remain on kernels a failed pass left behind.
function objectSets(entries: ManifestEntry[]): CdnSet[] {
  const newest = new Map<string, { updatedAt: string; record: MinifiedRecord }>();
  for (const entry of entries) {
    for (const [set, record] of Object.entries(entry.minified ?? {})) {
      const seen = newest.get(set);
      if (!seen || entry.updatedAt > seen.updatedAt) newest.set(set, { updatedAt: entry.updatedAt, record });
    }
  }
  return [...newest.entries()]
    .sort(([a], [b]) => (a === unionSetName ? -1 : b === unionSetName ? 1 : a.localeCompare(b)))
    .map(([name, { record }]) => ({
      name,
      prefix: name === unionSetName ? "" : `sets/${name}/`,
      form: "minified" as const,
      fingerprint: record.fingerprint,
      objects: record.coverage.map((object) => ({ name: object.object, sha256: object.sha256 })),
    }));
}
