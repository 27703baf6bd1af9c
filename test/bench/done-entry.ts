// The manifest entry of a kernel a bench's archive holds as already done: converted from a listed
// -dbg package of the loopback mirror and minified, its files shared with every other kernel.
import type { ManifestEntry, MinifiedRecord } from "../../archive/manifest.ts";
import type { KernelKey } from "../../archive/kernel-key.ts";
import type { FileDigest } from "../../archive/file-digest.ts";
import type { ListedAptPackage } from "../fixtures/apt-mirror.ts";

export interface DoneKernel {
  key: KernelKey;
  flavor: string;
  listed: ListedAptPackage;
  /** The suite the package is listed in. */
  origin: string;
  /** The archive path the kernel's tarball is linked at. */
  path: string;
}

export interface SharedFiles {
  mirrorUrl: string;
  btf: FileDigest;
  tarball: FileDigest;
  minified: Record<string, MinifiedRecord>;
  updatedAt: string;
}

/** When a bench builds its archive: the entry a finished run would have written for `kernel`. */
export function doneEntry(kernel: DoneKernel, shared: SharedFiles): ManifestEntry {
  const { key, flavor, listed, origin, path } = kernel;
  return {
    key,
    flavor,
    status: "ok",
    kernelHasBtf: false,
    btf: shared.btf,
    tarball: { path, ...shared.tarball },
    kinds: ["INT", "STRUCT"],
    package: {
      name: listed.name,
      version: listed.version,
      url: `${shared.mirrorUrl}/${listed.filename}`,
      sha256: listed.sha256,
      size: listed.size,
      origin,
    },
    pahole: { version: "v1.24", flags: [] },
    bpftool: { version: "bpftool v7.1.0" },
    minified: shared.minified,
    updatedAt: shared.updatedAt,
  };
}
