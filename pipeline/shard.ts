// `--shard I/N`: a deterministic share of the work, so N machines (a CI matrix) split a run and
// `btfmill merge` puts it back together. The unit of sharing is a flavor chain: kernels of one
// flavor must stay on one machine for the "stop at the first kernel with BTF" rule; with
// `kernelsWithBtf: "all"` each kernel is its own unit.
import { createHash } from "node:crypto";
import type { SourceConfig } from "../distros/types.ts";
import type { KernelKey } from "../archive/kernel-key.ts";
import { keyPath, sourceId } from "../archive/kernel-key.ts";
import { ConfigError } from "../archive/errors.ts";

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** When the CLI reads `--shard`: `2/4` -> {index 2, count 4}. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) {
    throw new ConfigError(`--shard ${text} is not I/N with 1 <= I <= N`, {
      hint: "e.g. --shard 1/4 ... --shard 4/4 on four machines",
    });
  }
  return { index, count };
}

/** The unit a kernel is shared out with: its flavor chain, or itself when each kernel stands alone. */
export function shardUnit(key: KernelKey, flavor: string, perKernel: boolean): string {
  return perKernel ? keyPath(key) : `${sourceId(key)}/${flavor}`;
}

/** When a sharded run filters its work: whether `unit` belongs to `shard` (no shard: everything does). */
export function inShard(unit: string, shard: Shard | undefined): boolean {
  if (shard === undefined) return true;
  const bucket = createHash("sha256").update(unit).digest().readUInt32BE(0) % shard.count;
  return bucket === shard.index - 1;
}

/** When work is found from the manifest alone (re-minifying): the unit of an archived kernel. */
export function entryShardUnit(entry: { key: KernelKey; flavor: string }, sources: readonly SourceConfig[]): string {
  const source = sources.find(
    (item) => item.distro === entry.key.distro && item.release === entry.key.release && item.arch === entry.key.arch,
  );
  return shardUnit(entry.key, entry.flavor, source?.kernelsWithBtf === "all");
}
