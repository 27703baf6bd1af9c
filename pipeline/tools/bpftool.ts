// bpftool: the second, independent parser every published BTF must satisfy, and the minifier that
// minifies a kernel's BTF to what a set of BPF objects relocates against.
import { runTool, timeoutFromEnv } from "../../archive/tools/run-tool.ts";
import { runFileTool } from "./spawner.ts";

// BTFMILL_BPFTOOL_TIMEOUT_MS (archive/tools/run-tool.ts) replaces both defaults below when set.
const timeoutVariable = "BTFMILL_BPFTOOL_TIMEOUT_MS";

/** When a run starts: the installed bpftool's version line (`bpftool v7.1.0`). */
export async function bpftoolVersion(): Promise<string> {
  const text = await runTool("bpftool", ["version"], { timeoutMs: 10_000 });
  return text.split("\n")[0]?.trim() ?? "unknown";
}

/** When a BTF is validated: bpftool must dump it without error (its output is not needed); a split BTF (a module's) with its `base`. */
export async function bpftoolParses(
  btfPath: string,
  options: { kernel: string; signal?: AbortSignal; base?: string },
): Promise<void> {
  const base = options.base === undefined ? [] : ["-B", options.base];
  await runTool("bpftool", [...base, "btf", "dump", "file", btfPath], {
    timeoutMs: timeoutFromEnv(timeoutVariable, 5 * 60_000),
    discardStdout: true,
    signal: options.signal,
    kernel: options.kernel,
    hint: "libbpf cannot load this BTF; check the pahole flags chosen for this kernel",
  });
}

export interface MinCoreBtfOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  kernel?: string;
}

/** When a kernel's BTF is minified for an object set: writes the types the objects' relocations touch to `outBtf`. */
export async function minCoreBtf(
  inBtf: string,
  outBtf: string,
  objects: readonly string[],
  options: MinCoreBtfOptions = {},
): Promise<void> {
  // A run takes the bench's `wall per minification` (test/bench/minify.ts); a minute means a hang.
  // Run once per kernel and set: started through the spawner, whose forks are cheap.
  await runFileTool("bpftool", ["gen", "min_core_btf", inBtf, outBtf, ...objects], {
    timeoutMs: options.timeoutMs ?? timeoutFromEnv(timeoutVariable, 60_000),
    signal: options.signal,
    kernel: options.kernel,
    hint: "bpftool fails on field offset ambiguity, tags reached while marking, or an object without .BTF",
  });
}
