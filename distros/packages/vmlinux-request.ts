// What a package reader is asked for, and what it reports: shared by every package format.
import type { ExtractedModule, ModuleRequest } from "./module-members.ts";

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
  /** Called once the vmlinux is whole on disk, while decoding goes on to the selected modules. */
  onWritten?: () => void;
  /** Threads for `xz -T` (default 2). */
  xzThreads?: number;
  /** Also write these modules' debug files, decoding on past the vmlinux as far as the last of them. */
  modules?: ModuleRequest;
  /**
   * Only the vmlinux's `.BTF` section is wanted (kernelsWithBtf "own", no modules): a reader that
   * can place it before the vmlinux's end (a .deb with System.map ahead of the vmlinux) writes
   * just the section to `output` and stops decoding there; others write the vmlinux as usual.
   */
  ownBtf?: boolean;
}

export interface ExtractedVmlinux {
  vmlinuxBytes: number;
  /** `output` holds only the vmlinux's `.BTF` section (`ownBtf`), not the vmlinux. */
  btfOnly: boolean;
  /** Decoded payload bytes produced before decoding stopped (the vmlinux's end, plus buffers). */
  payloadBytes: number;
  /** The selected modules written, by name (empty when none were asked for). */
  modules: ExtractedModule[];
  /** Selected modules the package does not carry. */
  missingModules: string[];
}
