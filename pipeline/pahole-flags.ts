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
  const flags = atLeast(pahole, 1, 26)
    ? [`--btf_features=${chooseFeatures(pahole, kernel).join(",")}`]
    : legacyFlags(pahole, kernel);
  return [...flags, ...(config.extraFlags ?? [])];
}

/**
 * When pahole >= 1.26 converts a kernel: the `--btf_features` list (every feature not named is
 * off). The kernel's own build (scripts/Makefile.btf) names encode_force, var, float, enum64,
 * decl_tag, type_tag, optimized_func, consistent_func and, from 6.11, decl_tag_kfuncs; the kinds
 * are dropped for kernels older than their first reader, as legacyFlags does for older pahole.
 */
export function chooseFeatures(pahole: ToolVersion, kernel: KernelVersion): string[] {
  const features = ["encode_force", "var"];
  if (atLeast(kernel, 5, 13)) features.push("float");
  if (atLeast(kernel, 5, 16)) features.push("decl_tag");
  if (atLeast(kernel, 5, 17)) features.push("type_tag");
  if (atLeast(kernel, 6, 0)) features.push("enum64");
  // BTFHub's choice for function prototypes, in 1.26's names: keep optimized-out functions whose
  // DWARF agrees, skip the ones whose prototypes disagree between compilation units.
  features.push("optimized_func", "consistent_func");
  if (atLeast(pahole, 1, 27)) {
    // kfunc DECL_TAGs (`bpf_kfunc`) are what the kernel's own BTF carries from 6.11, whose build asks for them.
    if (atLeast(kernel, 6, 11)) features.push("decl_tag_kfuncs");
    features.push("reproducible_build");
  }
  return features;
}

// pahole 1.21-1.25: every kind newer than the kernel switched off with the skip flags of the time.
function legacyFlags(pahole: ToolVersion, kernel: KernelVersion): string[] {
  const flags: string[] = [];
  if (atLeast(pahole, 1, 21) && atLeast(kernel, 5, 13)) flags.push("--btf_gen_floats");
  if (atLeast(pahole, 1, 23)) {
    if (!atLeast(kernel, 5, 16)) flags.push("--skip_encoding_btf_decl_tag");
    if (!atLeast(kernel, 5, 17)) flags.push("--skip_encoding_btf_type_tag");
  }
  if (atLeast(pahole, 1, 24) && !atLeast(kernel, 6, 0)) flags.push("--skip_encoding_btf_enum64");
  if (atLeast(pahole, 1, 25)) flags.push("--btf_gen_optimized", "--skip_encoding_btf_inconsistent_proto");
  return flags;
}

/** When pahole is started for a kernel: `-jN` when its output does not depend on N (>= 1.29), else nothing. */
export function threadsFlag(pahole: ToolVersion, threads: number): string[] {
  return atLeast(pahole, 1, 29) && threads > 1 ? [`-j${threads}`] : [];
}
