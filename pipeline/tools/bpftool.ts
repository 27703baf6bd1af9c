// bpftool: the second, independent parser every published BTF must satisfy.
import { runTool } from "./run-tool.ts";

/** When a run starts: the installed bpftool's version line (`bpftool v7.1.0`). */
export async function bpftoolVersion(): Promise<string> {
  const text = await runTool("bpftool", ["version"], { timeoutMs: 10_000 });
  return text.split("\n")[0]?.trim() ?? "unknown";
}

/** When a BTF is validated: bpftool must dump it without error (its output is not needed). */
export async function bpftoolParses(btfPath: string, options: { kernel: string; signal?: AbortSignal }): Promise<void> {
  await runTool("bpftool", ["btf", "dump", "file", btfPath], {
    timeoutMs: 5 * 60_000,
    discardStdout: true,
    signal: options.signal,
    kernel: options.kernel,
    hint: "libbpf cannot load this BTF; check the pahole flags chosen for this kernel",
  });
}
