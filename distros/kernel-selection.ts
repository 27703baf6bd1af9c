// Which of the packages a family's indexes list become the source's kernels: the apt and rpm
// families share the rule and differ only in how they order two packages.
import { ConfigError } from "../archive/errors.ts";

export interface KernelCandidate {
  /** `uname -r` of the kernel the package holds. */
  kernel: string;
  flavor: string;
}

export interface SelectionRules<C extends KernelCandidate> {
  /** Above 0 when `a` is the better package of one kernel (a rebuild in updates replaces the release's). */
  preferred: (a: C, b: C) => number;
  /** Above 0 when `a`'s version is newer than `b`'s. */
  newer: (a: C, b: C) => number;
  /** Only these flavors (the config's `flavors`); all when absent. */
  flavors: readonly string[] | undefined;
  /** How many newest kernels per flavor (the config's `latest`); all when absent. */
  latest: number | undefined;
  /** The error's message when configured flavors have no kernels. */
  missingFlavors: (flavors: string[]) => string;
}

/** When a source has read its indexes: one package per kernel, the configured flavors in name order, newest first, `latest` of each. */
export function selectKernels<C extends KernelCandidate>(candidates: readonly C[], rules: SelectionRules<C>): C[] {
  const byKernel = new Map<string, C>();
  for (const candidate of candidates) {
    const held = byKernel.get(candidate.kernel);
    if (held === undefined || rules.preferred(candidate, held) > 0) byKernel.set(candidate.kernel, candidate);
  }
  const byFlavor = Map.groupBy(byKernel.values(), (candidate) => candidate.flavor);
  const wanted = rules.flavors ?? [...byFlavor.keys()];
  const missing = wanted.filter((flavor) => !byFlavor.has(flavor));
  if (missing.length > 0) {
    throw new ConfigError(rules.missingFlavors(missing), {
      hint: `flavors found: ${[...byFlavor.keys()].sort().join(", ") || "none"}`,
    });
  }
  return [...new Set(wanted)].sort().flatMap((flavor) =>
    byFlavor
      .get(flavor)!
      .sort((a, b) => rules.newer(b, a) || (a.kernel < b.kernel ? 1 : -1))
      .slice(0, rules.latest ?? Infinity),
  );
}
