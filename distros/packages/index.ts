// Package formats: each reader turns a package's byte stream into a vmlinux on disk. The fetch
// stage picks one by `KernelPackage.format`.
import type { PackageFormat } from "../types.ts";
import { extractVmlinuxFromDeb } from "./deb.ts";
import { extractVmlinuxFromRpm } from "./rpm.ts";
import type { ExtractedVmlinux, VmlinuxRequest } from "./vmlinux-request.ts";

/**
 * Reads `source` up to the vmlinux's end and no further, leaving the rest unread for the caller
 * (who hashes it); throws VmlinuxNotFoundError when the payload lacks it.
 */
export type PackageReader = (source: AsyncIterable<Buffer>, request: VmlinuxRequest) => Promise<ExtractedVmlinux>;

/** When a package is about to be fetched: the reader for its format. */
export function packageReader(format: PackageFormat): PackageReader {
  switch (format) {
    case "deb":
      return extractVmlinuxFromDeb;
    case "rpm":
      return extractVmlinuxFromRpm;
  }
}
