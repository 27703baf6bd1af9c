// The 404 a client can act on, for a path that names a kernel's BTF: whether the kernel is
// unknown, failed, or already has BTF, from the tree's own manifest and uname index.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CdnKernel, CdnManifestV1, CdnPart, CdnRoot, UnameIndex } from "./cdn-manifest.ts";
import { cdnManifestName, unameIndexName } from "./cdn-layout.ts";
import { unionSetName } from "../archive/manifest.ts";

export interface KernelNotFound {
  error: "unknown kernel" | "kernel failed" | "kernel has BTF" | "no file for set";
  key: string;
  set: string;
  hint: string;
  reason?: string;
  /** Other keys with the same uname -r, when the distro or release in the path is the wrong one. */
  candidates?: string[];
}

/** When serve has no file for a kernel path: explains why, for the JSON 404 body. */
export async function explainMissingKernel(root: string, key: string, set: string): Promise<KernelNotFound> {
  const manifest = await readJson<CdnRoot | CdnManifestV1>(join(root, cdnManifestName));
  const kernel = (await sourceKernels(root, manifest, key)).find((candidate) => candidate.key === key);
  if (kernel?.status === "failed") {
    return {
      error: "kernel failed",
      key,
      set,
      reason: kernel.reason ?? "",
      hint: "btfmill could not make BTF for this kernel; the reason says what went wrong",
    };
  }
  if (kernel?.kernelHasBtf) {
    return { error: "kernel has BTF", key, set, hint: "this kernel ships its own BTF: use /sys/kernel/btf/vmlinux" };
  }
  if (kernel) {
    const error = kernel.coverage[set]?.error;
    const sets = manifest?.sets.map((known) => known.name).join(", ") ?? "";
    return {
      error: "no file for set",
      key,
      set,
      hint: error ?? `set "${set}" has no file for this kernel; sets: ${sets}`,
    };
  }
  const uname = key.split("/").at(-1) ?? "";
  const index = await readJson<UnameIndex>(join(root, unameIndexName));
  const candidates = (index?.kernels[uname] ?? []).map((entry) => entry.key);
  const where = set === unionSetName ? "" : `sets/${set}/`;
  return {
    error: "unknown kernel",
    key,
    set,
    hint: candidates.length
      ? `no ${key}; uname -r ${uname} is published as ${candidates.map((candidate) => `/${where}${candidate}.btf`).join(", ")}`
      : `no kernel ${uname} is published; /manifest.json names each source's list of kernels, /index/uname.json every uname -r`,
    ...(candidates.length ? { candidates } : {}),
  };
}

// The kernels of the key's source: its part, or a v1 manifest's own list.
async function sourceKernels(
  root: string,
  manifest: CdnRoot | CdnManifestV1 | undefined,
  key: string,
): Promise<CdnKernel[]> {
  if (manifest === undefined) return [];
  if ("kernels" in manifest) return manifest.kernels;
  const source = key.split("/").slice(0, 3).join("/");
  const part = manifest.parts.find((ref) => `${ref.distro}/${ref.release}/${ref.arch}` === source);
  return part === undefined ? [] : ((await readJson<CdnPart>(join(root, part.path)))?.kernels ?? []);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}
