// Where things live in the published tree, the paths consumers fetch. The root serves the
// `all` set as raw BTF, the path libbpf's btf_custom_path and cilium's btf.LoadSpec take as is.
import { keyPath, parseKeyPath, type Arch, type KernelKey } from "../archive/kernel-key.ts";
import { unionSetName } from "../archive/manifest.ts";

export const cdnManifestName = "manifest.json";
export const cdnSchemaName = "manifest.schema.json";
export const signatureName = "manifest.json.sig";
export const publicKeyName = "manifest.pub.pem";
export const unameIndexName = "index/uname.json";
/** The archive manifest the site was made from: the state `--state` starts a run from. */
export const archiveManifestName = "archive-manifest.json";
export const headersName = "_headers";
/** Where the kernel records of each source live, beside the root that names them. */
export const cdnPartsDir = "manifest";

/** `manifest/<distro>/<release>/<arch>.json`: one source's kernel records. */
export function cdnPartPath(source: { distro: string; release: string; arch: Arch }): string {
  return `${cdnPartsDir}/${source.distro}/${source.release}/${source.arch}.json`;
}

/** `<distro>/<release>/<arch>/<kernel>.btf` for the root set, `sets/<name>/...` for the others. */
export function setBtfPath(set: string, key: KernelKey): string {
  return set === unionSetName ? `${keyPath(key)}.btf` : `sets/${set}/${keyPath(key)}.btf`;
}

/** BTFHub's full form, published only with `--full`. */
export function fullTarballPath(key: KernelKey): string {
  return `full/${keyPath(key)}.btf.tar.xz`;
}

/** Beside the full tarball: the kernel's modules' split BTF, `<module>.btf` each. */
export function fullModulesTarballPath(key: KernelKey): string {
  return `full/${keyPath(key)}.modules.btf.tar.xz`;
}

/**
 * A kernel's modules as raw files, published with `--full`: `full/<key>.modules/<module>.btf`, split
 * BTF each, and `vmlinux.btf`, the kernel's full BTF they are split against: the folder holds what
 * /sys/kernel/btf holds on a kernel with BTF, so `LoadSplitSpec(<module>.btf, vmlinux.btf)` needs
 * nothing else. Under full/ beside the kernel's tarballs; the `.modules` suffix keeps it apart
 * from any `<kernel>` path, and no module is named vmlinux.
 */
export function fullModulesDir(key: KernelKey): string {
  return `full/${keyPath(key)}.modules`;
}

/** The split BTF of one module, and its base, in fullModulesDir. */
export function moduleFileName(module: string): string {
  return `${module}.btf`;
}

export const moduleBaseName = "vmlinux.btf";

/** One solid archive of every file of a set for one arch, for projects that embed them all. */
export function bundlePath(set: string, arch: Arch): string {
  return `bundles/${set}/${arch}.tar.xz`;
}

/** Parses a request path that names one kernel's BTF (`[sets/<name>/]<d>/<r>/<a>/<k>.btf`), else undefined. */
export function parseKernelPath(path: string): { set: string; key: string } | undefined {
  if (!path.endsWith(".btf")) return undefined;
  const body = path.slice(0, -".btf".length);
  const inSet = /^sets\/([^/]+)\/(.*)$/s.exec(body);
  if (inSet?.[1] !== undefined && inSet[2] !== undefined && parseKeyPath(inSet[2]) !== undefined)
    return { set: inSet[1], key: inSet[2] };
  return parseKeyPath(body) === undefined ? undefined : { set: unionSetName, key: body };
}
