// Convert stage: vmlinux (DWARF) -> detached BTF, with flags chosen for this kernel.
import type { PaholeConfig } from "../config.ts";
import { FormatError } from "../../archive/errors.ts";
import { chooseFlags, kernelVersionOf, threadsFlag } from "../pahole-flags.ts";
import { freeCores, runPahole, type ToolVersion } from "../tools/pahole.ts";
import { hasDwarf } from "../../archive/elf.ts";

export interface ConvertResult {
  flags: string[];
}

/**
 * When a vmlinux is on disk: writes `outBtf` and returns the pahole flags used. The thread count
 * is not among them: from pahole 1.29 the bytes are the same whatever it is, so it follows the
 * cores free when pahole starts (or the config's pahole.threads).
 */
export async function convertVmlinux(
  vmlinux: string,
  outBtf: string,
  options: { kernel: string; kernelRelease: string; pahole: ToolVersion; config?: PaholeConfig; signal?: AbortSignal },
): Promise<ConvertResult> {
  const version = kernelVersionOf(options.kernelRelease);
  if (!version) {
    throw new FormatError(`cannot tell the kernel version from release "${options.kernelRelease}"`, {
      kernel: options.kernel,
      hint: "set pahole.flags in the config to convert it anyway",
    });
  }
  if (!(await hasDwarf(vmlinux))) {
    throw new FormatError("the vmlinux has no DWARF (.debug_info): pahole has nothing to convert", {
      kernel: options.kernel,
      hint: "the package is not a debug package; check the distro's flavor/package naming",
    });
  }
  const flags = chooseFlags(options.pahole, version, options.config);
  const threads =
    options.config?.threads === undefined || options.config.threads === "auto" ? freeCores() : options.config.threads;
  await runPahole(vmlinux, outBtf, [...threadsFlag(options.pahole, threads), ...flags], {
    kernel: options.kernel,
    signal: options.signal,
  });
  return { flags };
}
