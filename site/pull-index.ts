// The index.json a pull (and gen) writes beside the files it fetched: what each kernel key maps to.
import type { CdnFile } from "./cdn-manifest.ts";

export const pullIndexName = "index.json";

export interface PullIndex {
  schemaVersion: 1;
  from: string;
  set: string;
  /** When the site's manifest was generated. */
  generatedAt: string;
  /** Kernel key -> its file in this folder. */
  kernels: Record<string, CdnFile>;
  /** Kernels that ship their own BTF: no file needed. */
  hasBtf: string[];
  /** Kernels btfmill could not make BTF for, with the reason. */
  failed: Record<string, string>;
  /** With `pull --modules`: per kernel key, its modules' split BTF in this folder and the base they need. */
  modules?: Record<string, PulledModules>;
}

export interface PulledModules {
  /** `<key>.modules/vmlinux.btf`: the kernel's full BTF, every module's base; absent when no module was found. */
  base?: CdnFile;
  /** By lsmod name: `<key>.modules/<module>.btf`. */
  files: Record<string, CdnFile>;
  /** Modules asked for by name that the site has no file of for this kernel. */
  missing?: string[];
}
