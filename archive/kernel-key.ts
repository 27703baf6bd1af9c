// The kernel key names one kernel everywhere: archive and site paths, manifests, shards, lookups.

/** Architecture names as BTFHub and consumers use them (`uname -m`, with aarch64 -> arm64). */
export const arches = ["x86_64", "arm64"] as const;

export type Arch = (typeof arches)[number];

/** Where a kernel's files live: `<distro>/<release>/<arch>/<kernel>` (os-release ID, VERSION_ID, arch, uname -r). */
export interface KernelKey {
  distro: string;
  release: string;
  arch: Arch;
  kernel: string;
}

/** When a name comes from outside (a path, a config): whether it is one of the archive's arches. */
export function isArch(name: string | undefined): name is Arch {
  return (arches as readonly (string | undefined)[]).includes(name);
}

/** The key's string form, `<distro>/<release>/<arch>/<kernel>`, as paths and manifests spell it. */
export function keyPath(key: KernelKey): string {
  return `${key.distro}/${key.release}/${key.arch}/${key.kernel}`;
}

/** `debian/12/x86_64`: how a source (and its kernels' keys) is named in the manifest and in messages. */
export function sourceId(source: Pick<KernelKey, "distro" | "release" | "arch">): string {
  return `${source.distro}/${source.release}/${source.arch}`;
}

/** The key a string form names; undefined unless it has four non-empty parts and a known arch. */
export function parseKeyPath(text: string): KernelKey | undefined {
  const parts = text.split("/");
  if (parts.length !== 4) return undefined;
  const [distro, release, arch, kernel] = parts;
  if (!distro || !release || !kernel || !isArch(arch)) return undefined;
  return { distro, release, arch, kernel };
}
