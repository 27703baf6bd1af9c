// Which published BTF a host needs: by its os-release (ID, VERSION_ID), arch and uname -r, the
// way Tracee and Inspektor Gadget key their embedded files. When the os-release names a distro
// the kernel does not belong to (a container reading its own os-release, a rolling release
// without VERSION_ID), the reverse index from uname -r finds where the kernel really lives.
import type { Arch } from "../archive/kernel-key.ts";
import { unionSetName } from "../archive/manifest.ts";
import type { CdnFile, CdnKernel, CdnManifest, UnameIndex } from "./cdn-manifest.ts";
import type { OsRelease } from "./os-release.ts";

export interface LookupQuery {
  osRelease: OsRelease | undefined;
  /** `uname -r`. */
  kernel: string;
  arch: Arch;
  /** Object set whose minified file is wanted; default `all`, what the root serves. */
  set?: string;
}

export type LookupResult =
  | { status: "found"; key: string; file: CdnFile; viaUnameIndex: boolean; note?: string }
  | { status: "has-btf"; key: string; reason: string; viaUnameIndex: boolean }
  | { status: "failed"; key: string; reason: string; viaUnameIndex: boolean }
  | { status: "unknown"; tried: string[]; hint: string };

function fileFor(entry: CdnKernel, set: string): CdnFile | undefined {
  return set === unionSetName ? entry.files.root : entry.files.sets[set];
}

function classify(entry: CdnKernel, set: string, viaUnameIndex: boolean, note: string | undefined): LookupResult {
  const key = entry.key;
  if (entry.status === "skipped" || (entry.kernelHasBtf && fileFor(entry, set) === undefined)) {
    return {
      status: "has-btf",
      key,
      viaUnameIndex,
      reason: entry.reason ?? "the kernel ships its own BTF at /sys/kernel/btf/vmlinux: no file is needed",
    };
  }
  if (entry.status === "failed")
    return { status: "failed", key, viaUnameIndex, reason: entry.reason ?? "conversion failed" };
  const file = fileFor(entry, set);
  if (file === undefined) {
    const why = entry.coverage[set]?.error;
    return {
      status: "failed",
      key,
      viaUnameIndex,
      reason: why ?? `no file for object set "${set}": the set is not published for this kernel`,
    };
  }
  const btfNote = entry.kernelHasBtf ? "the kernel also ships its own BTF at /sys/kernel/btf/vmlinux" : undefined;
  const notes = [note, btfNote].filter((text): text is string => text !== undefined);
  return { status: "found", key, file, viaUnameIndex, ...(notes.length ? { note: notes.join("; ") } : {}) };
}

// Candidates from the reverse index: this arch only, the os-release's own distro (or one it is
// like) first, converted kernels before failed ones, then key order so the answer is stable.
function rankCandidates(keys: string[], query: LookupQuery, byKey: Map<string, CdnKernel>): CdnKernel[] {
  const related = new Set([query.osRelease?.id, ...(query.osRelease?.idLike ?? [])].filter(Boolean));
  const rank = (entry: CdnKernel): number => (related.has(entry.distro) ? 0 : 2) + (entry.status === "ok" ? 0 : 1);
  return keys
    .map((key) => byKey.get(key))
    .filter((entry): entry is CdnKernel => entry !== undefined && entry.arch === query.arch)
    .sort((a, b) => rank(a) - rank(b) || a.key.localeCompare(b.key));
}

/** When a consumer asks for its kernel's BTF: the file, or why there is none. */
export function lookupKernel(
  manifest: Pick<CdnManifest, "kernels">,
  unameIndex: UnameIndex | undefined,
  query: LookupQuery,
): LookupResult {
  const set = query.set ?? unionSetName;
  const byKey = new Map(manifest.kernels.map((entry) => [entry.key, entry]));
  const tried: string[] = [];
  const { osRelease } = query;
  if (osRelease?.versionId !== undefined) {
    const key = `${osRelease.id}/${osRelease.versionId}/${query.arch}/${query.kernel}`;
    tried.push(key);
    const entry = byKey.get(key);
    if (entry) return classify(entry, set, false, undefined);
  }
  const [best] = rankCandidates(
    (unameIndex?.kernels[query.kernel] ?? []).map((candidate) => candidate.key),
    query,
    byKey,
  );
  if (best) {
    const said = osRelease
      ? `os-release says ${osRelease.id}${osRelease.versionId ? ` ${osRelease.versionId}` : " without VERSION_ID"}`
      : "no os-release";
    return classify(best, set, true, `${said}; kernel ${query.kernel} is published as ${best.key}`);
  }
  tried.push(`uname -r ${query.kernel} (${query.arch}) in the reverse index`);
  return {
    status: "unknown",
    tried,
    hint: "btfmill has no BTF for this kernel: it is not in the distro's debug archive btfmill reads, or too new for the last publish",
  };
}
