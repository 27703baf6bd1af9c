// Which pahole flags give a BTF that the kernel it describes can itself load: every BTF kind
// newer than the kernel is switched off, because libbpf, bpftool and cilium/ebpf of that
// kernel's era reject a file with a kind they do not know (btfhub issue #51).
import type { PaholeConfig } from "./config.ts";
import type { ToolVersion } from "./tools/pahole.ts";

export interface KernelVersion {
  major: number;
  minor: number;
}

/** When a kernel is planned: `6.1.0-47-cloud-amd64` -> 6.1; undefined for an unparsable release. */
export function kernelVersionOf(release: string): KernelVersion | undefined {
  const match = /^(\d+)\.(\d+)/.exec(release);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

function atLeast(version: { major: number; minor: number }, major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

/** When a kernel is converted: the flags for this pahole and this kernel, config overrides applied. */
export function chooseFlags(pahole: ToolVersion, kernel: KernelVersion, config: PaholeConfig = {}): string[] {
  if (config.flags) return [...config.flags];
  const flags: string[] = [];
  if (atLeast(pahole, 1, 21) && atLeast(kernel, 5, 13)) flags.push("--btf_gen_floats");
  if (atLeast(pahole, 1, 23)) {
    if (!atLeast(kernel, 5, 16)) flags.push("--skip_encoding_btf_decl_tag");
    if (!atLeast(kernel, 5, 17)) flags.push("--skip_encoding_btf_type_tag");
  }
  if (atLeast(pahole, 1, 24) && !atLeast(kernel, 6, 0)) flags.push("--skip_encoding_btf_enum64");
  // BTFHub's choice for function prototypes: skip the ones whose DWARF disagrees between
  // compilation units instead of emitting a wrong one.
  if (atLeast(pahole, 1, 25)) flags.push("--btf_gen_optimized", "--skip_encoding_btf_inconsistent_proto");
  return [...flags, ...(config.extraFlags ?? [])];
}
