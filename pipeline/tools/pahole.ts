// pahole: DWARF -> BTF. Which flags it takes depends on its version (chooseFlags, pipeline/pahole-flags.ts).
import { availableParallelism } from "node:os";
import { runTool, timeoutFromEnv } from "../../archive/tools/run-tool.ts";
import { FormatError } from "../../archive/errors.ts";

export interface ToolVersion {
  /** As the tool prints it (`v1.24`). */
  text: string;
  major: number;
  minor: number;
}

/** When a run starts: asks the installed pahole for its version. */
export async function paholeVersion(): Promise<ToolVersion> {
  const text = (await runTool("pahole", ["--version"], { timeoutMs: 10_000 })).trim();
  const match = /^v?(\d+)\.(\d+)/.exec(text);
  if (!match)
    throw new FormatError(`pahole --version printed "${text}", not vMAJOR.MINOR`, { hint: "install dwarves >= 1.22" });
  return { text, major: Number(match[1]), minor: Number(match[2]) };
}

// This process's pahole runs in progress: the cores they hold are the ones a new run must not count on.
let paholesRunning = 0;

/**
 * When pahole starts with `pahole.threads` "auto": the cores this run's other pahole conversions
 * leave, at least 1. Not the load average: it lags by a minute and counts this run's own decoding
 * just finished, which left a lone kernel's pahole on one thread of an idle machine (one-kernel
 * bench: 0.64x of BTFHub's commands at -j1). Other work shares the cores through the scheduler;
 * pahole's output does not depend on -j.
 */
export function freeCores(): number {
  return Math.max(1, availableParallelism() - paholesRunning);
}

/** When a kernel is converted: pahole with `flags` (a `-jN` among them only from 1.29, whose output does not depend on N). */
export async function runPahole(
  vmlinux: string,
  outBtf: string,
  flags: readonly string[],
  options: { kernel: string; signal?: AbortSignal },
): Promise<void> {
  paholesRunning += 1;
  try {
    await runTool("pahole", [...flags, `--btf_encode_detached=${outBtf}`, vmlinux], {
      timeoutMs: timeoutFromEnv("BTFMILL_PAHOLE_TIMEOUT_MS", 30 * 60_000),
      signal: options.signal,
      kernel: options.kernel,
      hint: "check that the vmlinux carries DWARF; `btfmill toolchain` installs the pinned pahole",
    });
  } finally {
    paholesRunning -= 1;
  }
}
