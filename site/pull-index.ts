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
}
