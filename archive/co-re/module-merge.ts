// A kernel's BTF with the modules its objects need merged in, as both the minify stage and `gen`
// minify from it: the standalone bytes bpftool reads, and what coverage on them needs to name the
// module a relocation resolved in.
import { openBtf } from "../btf/lazy.ts";
import { mergeSplitBtf } from "../btf/merge.ts";
import type { BtfSpec } from "../btf/types.ts";

export interface MergedKernel {
  /** Standalone BTF: the base, then each module's types in `names`' order. */
  bytes: Buffer;
  spec: BtfSpec;
  /** The module holding type `id`, undefined for the kernel's own: computeCoverage's `moduleOf`. */
  moduleOf: (id: number) => string | undefined;
}

/** When chooseModules has named the modules to merge: `base` with each one's split BTF (from `splits`, by lsmod name) merged in. */
export function mergeModules(
  base: Uint8Array,
  splits: ReadonlyMap<string, Uint8Array>,
  names: readonly string[],
): MergedKernel {
  const result = mergeSplitBtf(
    base,
    names.map((name) => ({ name, bytes: splits.get(name)! })),
  );
  const moduleOf = (id: number) => result.parts.find((part) => id >= part.firstId && id <= part.lastId)?.name;
  return { bytes: result.bytes, spec: openBtf(result.bytes), moduleOf };
}
