// Package formats: each reader turns a package's byte stream into a vmlinux on disk. The fetch
// stage picks one by `KernelPackage.format`.
import type { PackageFormat } from "../types.ts";
import { extractVmlinuxFromDeb } from "./deb.ts";
import { extractVmlinuxFromRpm } from "./rpm.ts";

export interface VmlinuxRequest {
  /** Path of the vmlinux inside the payload (`usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64`). */
  vmlinuxPath: string;
  /** File to create with the vmlinux (must not exist yet). */
  output: string;
  /** Package name or URL, for error messages. */
  package: string;
  /** Size the index vouches for, so no header can claim more. */
  packageSize?: number;
  signal?: AbortSignal;
  /** Called when the vmlinux's header is reached, before its bytes. */
  onFound?: () => void;
  /** Threads for `xz -T` (default 2). */
  xzThreads?: number;
}

export interface ExtractedVmlinux {
  vmlinuxBytes: number;
  /** Decoded payload bytes produced before decoding stopped (the vmlinux's end, plus buffers). */
  payloadBytes: number;
}

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
