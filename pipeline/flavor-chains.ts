// Kernels that ship their own BTF need none from btfmill, and within a flavor every kernel newer
// than the first one with `.BTF` has it too. So, per source and flavor, kernels are processed
// oldest first and the chain stops converting at the first kernel whose vmlinux carries `.BTF`
// (BTFHub's rule, kept from crossing flavors). With `kernelsWithBtf: "all"` each kernel stands
// alone and all of them run side by side.
import type { KernelPackage, SourceConfig } from "../distros/types.ts";

export interface FlavorChain {
  /** Oldest first. */
  packages: KernelPackage[];
  stopAtBtf: boolean;
}

/** When discovery is done: the chains to run, from each source's packages (newest first per flavor). */
export function flavorChains(discovered: { source: SourceConfig; packages: KernelPackage[] }[]): FlavorChain[] {
  const chains: FlavorChain[] = [];
  for (const { source, packages } of discovered) {
    if (source.kernelsWithBtf === "all") {
      chains.push(...packages.map((pkg) => ({ packages: [pkg], stopAtBtf: false })));
      continue;
    }
    const byFlavor = new Map<string, KernelPackage[]>();
    for (const pkg of packages) byFlavor.set(pkg.flavor, [...(byFlavor.get(pkg.flavor) ?? []), pkg]);
    for (const newestFirst of byFlavor.values()) chains.push({ packages: [...newestFirst].reverse(), stopAtBtf: true });
  }
  return chains;
}
