// pahole: DWARF -> BTF. Which flags it takes depends on its version (chooseFlags, pipeline/pahole-flags.ts).
import { availableParallelism, loadavg } from "node:os";
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

/** When pahole starts with `pahole.threads` "auto": the cores the last minute's load leaves free, at least 1. */
export function freeCores(): number {
  const cores = availableParallelism();
  return Math.max(1, Math.min(cores, Math.round(cores - loadavg()[0]!)));
}

/** When a kernel is converted: pahole with `flags` (a `-jN` among them only from 1.29, whose output does not depend on N). */
export async function runPahole(
  vmlinux: string,
  outBtf: string,
  flags: readonly string[],
  options: { kernel: string; signal?: AbortSignal },
): Promise<void> {
  await runTool("pahole", [...flags, `--btf_encode_detached=${outBtf}`, vmlinux], {
    timeoutMs: timeoutFromEnv("BTFMILL_PAHOLE_TIMEOUT_MS", 30 * 60_000),
    signal: options.signal,
    kernel: options.kernel,
    hint: "check that the vmlinux carries DWARF; `btfmill toolchain` installs the pinned pahole",
  });
}
