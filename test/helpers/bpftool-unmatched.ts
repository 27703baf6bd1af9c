// bpftool's own verdict on relocation coverage, for tests that check btfmill's matcher against it:
// the relocations `bpftool -d gen min_core_btf` could not match, read from libbpf's debug log.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runTool } from "../../archive/tools/run-tool.ts";
import type { MinCoreBtfOptions } from "../../pipeline/tools/bpftool.ts";

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

/** The relocations `bpftool -d gen min_core_btf` could not match, per object. */
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
