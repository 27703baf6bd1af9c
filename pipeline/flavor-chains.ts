// Kernels that ship their own BTF need none from btfmill, and within a flavor every kernel newer
// than the first one with `.BTF` has it too. So, per source and flavor, kernels are processed
// oldest first and the chain stops converting at the first kernel whose vmlinux carries `.BTF`
// (BTFHub's rule, kept from crossing flavors). With `kernelsWithBtf: "all"` each kernel stands
// alone and all of them run side by side. With `kernelsWithBtf: "own"` a flavor's chain goes on
// past that kernel, and every later kernel with `.BTF` publishes those bytes instead of pahole's:
// exact, and a fraction of the cost; the first one, converted by pahole and compared, is the
// flavor's fidelity check.
import type { ManifestEntry } from "../archive/manifest.ts";
import type { KernelPackage, SourceConfig } from "../distros/types.ts";
import { keyPath } from "../archive/kernel-key.ts";
import { shardUnit } from "./shard.ts";

export interface FlavorChain {
  /** Oldest first. */
  packages: KernelPackage[];
  stopAtBtf: boolean;
  /** Kernels after the chain's first checked kernel with `.BTF` take their own `.BTF` (kernelsWithBtf "own"). */
  ownBtf: boolean;
  /** What `--shard` shares out (pipeline/shard.ts). */
  unit: string;
}

/** When discovery is done: the chains to run, from each source's packages (newest first per flavor). */
export function flavorChains(discovered: { source: SourceConfig; packages: KernelPackage[] }[]): FlavorChain[] {
  const chains: FlavorChain[] = [];
  for (const { source, packages: found } of discovered) {
    const packages = source.modules === undefined ? found : found.map((pkg) => ({ ...pkg, modules: source.modules }));
    if (source.kernelsWithBtf === "all") {
      chains.push(
        ...packages.map((pkg) => ({
          packages: [pkg],
          stopAtBtf: false,
          ownBtf: false,
          unit: shardUnit(pkg.key, pkg.flavor, true),
        })),
      );
      continue;
    }
    for (const newestFirst of Map.groupBy(packages, (pkg) => pkg.flavor).values()) {
      const oldestFirst = [...newestFirst].reverse();
      const own = source.kernelsWithBtf === "own";
      chains.push({
        packages: oldestFirst,
        stopAtBtf: !own,
        ownBtf: own,
        unit: shardUnit(oldestFirst[0]!.key, oldestFirst[0]!.flavor, false),
      });
    }
  }
  return chains;
}

/**
 * When a chain is worked through (by a run, or by `plan` to predict one): `step` decides each
 * kernel and returns its entry; once an `ok` entry says its kernel ships BTF, the rest of a
 * stopping chain goes to `skip`, and the rest of an `ownBtf` chain is stepped with `ownBtf` true
 * (once pahole's BTF of a kernel of the flavor matched that kernel's own).
 */
export async function walkChain(
  chain: FlavorChain,
  step: (pkg: KernelPackage, ownBtf: boolean) => Promise<ManifestEntry | undefined>,
  skip: (pkg: KernelPackage, btfKernel: string) => Promise<void>,
): Promise<void> {
  let btfKernel: string | undefined;
  for (const pkg of chain.packages) {
    if (chain.stopAtBtf && btfKernel !== undefined) {
      await skip(pkg, btfKernel);
      continue;
    }
    const entry = await step(pkg, chain.ownBtf && btfKernel !== undefined);
    if (entry?.status === "ok" && entry.kernelHasBtf && entry.ownBtf !== true) btfKernel = keyPath(pkg.key);
  }
}
