// bpftool: the second, independent parser every published BTF must satisfy, and the pruner that
// minifies a kernel's BTF to what a set of BPF objects relocates against.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runTool, timeoutFromEnv } from "../../archive/tools/run-tool.ts";
import { runFileTool } from "./spawner.ts";

// BTFMILL_BPFTOOL_TIMEOUT_MS (run-tool.ts) replaces both defaults below when set.
const timeoutVariable = "BTFMILL_BPFTOOL_TIMEOUT_MS";

/** When a run starts: the installed bpftool's version line (`bpftool v7.1.0`). */
export async function bpftoolVersion(): Promise<string> {
  const text = await runTool("bpftool", ["version"], { timeoutMs: 10_000 });
  return text.split("\n")[0]?.trim() ?? "unknown";
}

/** When a BTF is validated: bpftool must dump it without error (its output is not needed). */
export async function bpftoolParses(btfPath: string, options: { kernel: string; signal?: AbortSignal }): Promise<void> {
  await runTool("bpftool", ["btf", "dump", "file", btfPath], {
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

/** When a kernel's BTF is pruned for an object set: writes the types the objects' relocations touch to `outBtf`. */
export async function minCoreBtf(
  inBtf: string,
  outBtf: string,
  objects: readonly string[],
  options: MinCoreBtfOptions = {},
): Promise<void> {
  // A few tens of ms per run on a 5.5 MB kernel BTF (REFERENCE.md section 5); a minute means a hang.
  // Run once per kernel and set: started through the spawner, whose forks are cheap.
  await runFileTool("bpftool", ["gen", "min_core_btf", inBtf, outBtf, ...objects], {
    timeoutMs: options.timeoutMs ?? timeoutFromEnv(timeoutVariable, 60_000),
    signal: options.signal,
    kernel: options.kernel,
    hint: "bpftool fails on field offset ambiguity, tags reached while marking, or an object without .BTF",
  });
}

export interface UnmatchedRelocation {
  object: string;
  /** libbpf's prog name in the log: the program's ELF section. */
  section: string;
  /** `relo #N` within the section. */
  index: number;
  /** libbpf's rendering of the local spec: `<byte_off> [5] struct tcp_sock.srtt_us (0:1 @ offset 48)`. */
  spec: string;
}

// libbpf_internal relo_core.c debug lines, one object per bpftool run:
//   libbpf: prog 'fentry/x': relo #1: <byte_off> [5] struct tcp_sock.srtt_us (0:1 @ offset 48)
//   libbpf: prog 'fentry/x': relo #1: no matching targets found
const reloLine = /^libbpf: prog '(.*)': relo #(\d+): (.*)$/;

/** When tests check coverage against bpftool: the relocations `bpftool -d gen min_core_btf` could not match, per object. */
export async function bpftoolUnmatched(
  inBtf: string,
  objects: readonly string[],
  options: MinCoreBtfOptions = {},
): Promise<UnmatchedRelocation[]> {
  const scratch = await mkdtemp(join(tmpdir(), "btfmill-min-core-"));
  try {
    const unmatched: UnmatchedRelocation[] = [];
    // bpftool's log does not say which object a line is about, so each object gets its own run.
    for (const object of objects) {
      const log = await runTool("bpftool", ["-d", "gen", "min_core_btf", inBtf, join(scratch, "out.btf"), object], {
        timeoutMs: options.timeoutMs ?? 60_000,
        signal: options.signal,
        kernel: options.kernel,
        withStderr: true,
      });
      const specs = new Map<string, string>();
      for (const line of log.split("\n")) {
        const match = reloLine.exec(line);
        if (match === null) continue;
        const [, section = "", index = "", text = ""] = match;
        const key = `${section}#${index}`;
        if (text.startsWith("<")) specs.set(key, text);
        else if (text === "no matching targets found") {
          unmatched.push({ object, section, index: Number(index), spec: specs.get(key) ?? "" });
        }
      }
    }
    return unmatched;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
