// Settled sources: a source whose last full read left it nothing to do is not read again while
// nothing that decision rested on has changed, as apt leaves a suite alone whose InRelease is the
// same. The key digests those inputs: the stamps of the source's signed indexes (the bytes the
// mirror serves, not yet verified: they are compared with bytes verified before), its config, the
// object sets, the options that change a plan, and the archive folder's listing. A run over 200
// sources then fetches 200 small signed files instead of every index and every part. A second key
// (`contentKey`) takes the index files the verified roots list in place of the roots' bytes, so a
// suite signed again over the same indexes stays settled at the cost of verifying it. A file
// removed by hand from the shared minified/ folder is not seen until the source is read in full:
// `--recheck` reads every source so.
import { createHash } from "node:crypto";
import type { Manifest, ManifestEntry } from "../archive/manifest.ts";
import type { SourceConfig } from "../distros/types.ts";
import type { FlavorChain } from "./flavor-chains.ts";
import { minifyWork } from "./minify-pass.ts";
import type { ObjectSet } from "./object-registry.ts";
import { chainsHaveWork, planRun, type PlanOptions } from "./plan.ts";

/** What a source's work depends on besides its indexes and its part. */
export interface SettleInputs {
  /** The source's config entries (a release and its backports are two), as the filters narrowed them. */
  configs: SourceConfig[];
  sets: ObjectSet[];
  retryFailed: boolean;
  /** With `--reconvert`: the current toolchain's identity. */
  reconvertUnless: string | undefined;
}

// Raised when btfmill starts deciding a source's work from something the key does not digest, so
// that every settled source is read in full once by the new version.
const rules = 1;

/** When a source is settled or checked against its settled state: the digest of what its work depends on. */
export function settleKey(inputs: SettleInputs, stamps: readonly string[], filesMark: string): string {
  const decidedBy = {
    rules,
    configs: inputs.configs,
    stamps,
    sets: inputs.sets.map((set) => [set.name, set.fingerprint]),
    retryFailed: inputs.retryFailed,
    reconvertUnless: inputs.reconvertUnless ?? null,
    files: filesMark,
  };
  return createHash("sha256").update(JSON.stringify(decidedBy)).digest("hex");
}

/** When a source's part is loaded: whether any of these chains, or minifying its kernels, has work. */
export async function sourceHasWork(
  manifest: Manifest,
  chains: FlavorChain[],
  entries: () => ManifestEntry[],
  options: PlanOptions & { include: (entry: ManifestEntry) => boolean },
): Promise<boolean> {
  const { todo } = await planRun(
    manifest,
    chains.flatMap((chain) => chain.packages),
    options,
  );
  return todo.length > 0 || (await chainsOrSetsHaveWork(manifest, chains, entries, options));
}

/** When a source's kernels are planned with none to convert: whether a skip to record or a set to minify is left. */
export async function chainsOrSetsHaveWork(
  manifest: Manifest,
  chains: FlavorChain[],
  entries: () => ManifestEntry[],
  options: PlanOptions & { include: (entry: ManifestEntry) => boolean },
): Promise<boolean> {
  return (
    (await chainsHaveWork(manifest, chains, options)) ||
    (options.sets.length > 0 && (await minifyWork(entries(), options.sets, options)))
  );
}

/** How many kernel packages a source's chains hold: all unchanged while it stays settled. */
export function packageCount(chains: FlavorChain[]): number {
  return chains.reduce((total, chain) => total + chain.packages.length, 0);
}
