// Where things live in the archive folder: BTFHub's layout, which consumers and the site read.
import { join } from "node:path";
import type { KernelKey } from "./kernel-key.ts";
import { keyPath } from "./kernel-key.ts";

export const manifestFileName = "manifest.json";

/** `<distro>/<release>/<arch>/<kernel>.btf.tar.xz`, relative to the archive root: BTFHub's form. */
export function archiveTarballPath(key: KernelKey): string {
  return `${keyPath(key)}.btf.tar.xz`;
}

/** `<distro>/<release>/<arch>/<kernel>.modules.btf.tar.xz`: the kernel's modules' split BTF, `<module>.btf` each. */
export function modulesTarballPath(key: KernelKey): string {
  return `${keyPath(key)}.modules.btf.tar.xz`;
}

/** A module's file name inside the modules tarball. */
export function moduleMemberName(module: string): string {
  return `${module}.btf`;
}

/** The file name inside the tarball, as BTFHub has it. */
export function btfMemberName(key: KernelKey): string {
  return `${key.kernel}.btf`;
}

/** Scratch space on the archive's own filesystem, so finished files rename into place. */
export function scratchDir(archiveRoot: string): string {
  return join(archiveRoot, ".work");
}

/** A minified BTF, stored once by content: `minified/<aa>/<sha256>.btf`. */
export function minifiedPath(sha256: string): string {
  return `minified/${sha256.slice(0, 2)}/${sha256}.btf`;
}

/** Where registered objects fetched by URL are kept, by sha256, so a run downloads each once. */
export function objectCacheDir(archiveRoot: string): string {
  return join(archiveRoot, ".objects");
}
