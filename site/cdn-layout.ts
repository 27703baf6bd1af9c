// Where things live in the published tree (DESIGN.md, Contracts: Layout). The root serves the
// `all` set as raw BTF, the path libbpf's btf_custom_path and cilium's btf.LoadSpec take as is.
import type { Arch, KernelKey } from "../archive/kernel-key.ts";
import { keyPath } from "../archive/kernel-key.ts";

export const cdnManifestName = "manifest.json";
export const cdnSchemaName = "manifest.schema.json";
export const signatureName = "manifest.json.sig";
export const publicKeyName = "manifest.pub.pem";
export const unameIndexName = "index/uname.json";
/** The archive manifest the site was made from: the state `--state` starts a run from. */
export const archiveManifestName = "archive-manifest.json";
export const headersName = "_headers";

/** The set the root serves: the union of every registered object (pipeline/config.ts). */
export const rootSetName = "all";

/** `<distro>/<release>/<arch>/<kernel>.btf` for the root set, `sets/<name>/...` for the others. */
export function setBtfPath(set: string, key: KernelKey): string {
  return set === rootSetName ? `${keyPath(key)}.btf` : `sets/${set}/${keyPath(key)}.btf`;
}

/** BTFHub's full form, published only with `--full`. */
export function fullTarballPath(key: KernelKey): string {
  return `full/${keyPath(key)}.btf.tar.xz`;
}

/** One solid archive of every file of a set for one arch, for projects that embed them all. */
export function bundlePath(set: string, arch: Arch): string {
  return `bundles/${set}/${arch}.tar.xz`;
}

/** Parses a request path that names one kernel's BTF (`[sets/<name>/]<d>/<r>/<a>/<k>.btf`), else undefined. */
export function parseKernelPath(path: string): { set: string; key: string } | undefined {
  const match = /^(?:sets\/([^/]+)\/)?([^/]+\/[^/]+\/(?:x86_64|arm64)\/[^/]+)\.btf$/.exec(path);
  if (!match?.[2]) return undefined;
  return { set: match[1] ?? rootSetName, key: match[2] };
}
