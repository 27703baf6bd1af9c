// The pahole every benchmark candidate runs: the one btfmill would use (the pinned toolchain, or
// the host pahole the config names), so btfmill and BTFHub's commands differ only in how they
// drive it. Selecting it also routes btfmill's own calls in this process through it.
import { readInstalled } from "../../pipeline/toolchain/installed.ts";
import { toolchainCommand } from "../../pipeline/toolchain/probe.ts";
import { selectTools } from "../../pipeline/toolchain/select.ts";
import { loadConfig } from "../../pipeline/config.ts";
import type { ToolVersion } from "../../pipeline/tools/pahole.ts";

export interface BenchPahole {
  version: ToolVersion;
  /** The command line that starts it, before pahole's own arguments. */
  argv: string[];
}

/** When a benchmark starts: the pahole to measure, from ./btfmill.json or the defaults. */
export async function benchPahole(): Promise<BenchPahole> {
  const { toolchain } = await loadConfig(undefined);
  const { pahole } = await selectTools(toolchain);
  if (toolchain.pahole !== undefined) return { version: pahole, argv: [toolchain.pahole] };
  const command = toolchainCommand((await readInstalled(toolchain.dir))!.root, "pahole");
  return { version: pahole, argv: [command.file, ...command.prefix] };
}

/** When a row's peak memory is read: pahole's, by its own name or, run through the toolchain's loader, the loader's. */
export function paholePeakRss(peakRssByCommand: Record<string, number>): number {
  return (
    peakRssByCommand.pahole ??
    peakRssByCommand["ld-linux-x86-64.so.2"] ??
    peakRssByCommand["ld-linux-aarch64.so.1"] ??
    0
  );
}
