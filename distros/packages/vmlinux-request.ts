// What a package reader is asked for, and what it reports: shared by every package format.

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
