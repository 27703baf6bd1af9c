// Prune stage: one kernel's full BTF minified for one object set with `bpftool gen min_core_btf`,
// with the coverage bpftool does not report (it drops unsatisfiable relocations silently).
// The output is stored once by content, whichever kernels and sets share it.
//
// What is checked, and how often. bpftool's run is the unavoidable cost (~35 ms of CPU on a
// 5.5 MB kernel BTF); the prune pass must stay within 20% of it (issue 9), and a bpftool process
// on a tiny file costs ~4-6 ms by itself, so checks that spawn run only where they add something:
// - Our reader parses every output: an independent parser, in memory, well under a millisecond.
// - bpftool accepts the file and minifying it again changes nothing (the fixed point): checked
//   by one more `gen min_core_btf` run with the output as input (libbpf's btf__parse reads it, as
//   `bpftool btf dump` would, so a separate dump adds nothing), once per distinct output, before
//   it enters the content-addressed store. An output whose bytes are already stored was checked
//   when they were stored: the same bytes pass the same checks. Kernels of one series share most
//   minified files, so most outputs of a large run are already stored.
// Reproducibility needs no run-time check: bpftool's output depends only on its inputs (pinned
// by test/bpftool.test.ts), and the stored name is the sha256 of the bytes.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { parseBtf, type BtfSpec } from "../../archive/btf/index.ts";
import { computeCoverage } from "../../archive/core/index.ts";
import { writeAtomically } from "../../archive/atomic-write.ts";
import { pathExists } from "../../archive/file-listing.ts";
import { minifiedPath } from "../../archive/layout.ts";
import type { MinifiedRecord, ObjectCoverage } from "../../archive/manifest.ts";
import { FormatError, describeError } from "../errors.ts";
import type { ObjectSet } from "../object-registry.ts";
import { minCoreBtf } from "../tools/bpftool.ts";
import { runFileTool } from "../tools/spawner.ts";
import { sha256Hex } from "../../archive/file-digest.ts";

export interface PruneContext {
  archiveRoot: string;
  /** A folder of this kernel's own, removed by the caller. */
  scratch: string;
  kernel: string;
  signal?: AbortSignal;
}

/**
 * When a stored kernel is minified again: extracts its full BTF from the BTFHub-form tarball to
 * `fullBtf` (where bpftool reads it; the member is `fullBtf`'s file name) and returns its bytes.
 */
export async function extractStoredBtf(tarball: string, fullBtf: string, options: { kernel: string; signal?: AbortSignal }): Promise<Buffer> {
  // xz decoding (~120 ms for a 5.5 MB BTF on a 2-vCPU VM) is most of it; tar started through
  // the spawner adds ~5 ms, less than decoding in a pipe into this process and writing it out.
  await runFileTool("tar", ["-xJf", tarball, "-C", dirname(fullBtf), "--", basename(fullBtf)], {
    timeoutMs: 5 * 60_000,
    kernel: options.kernel,
    signal: options.signal,
    hint: `the stored tarball is damaged or does not hold ${basename(fullBtf)}: restore it from the published site or a backup`,
  });
  return readFile(fullBtf);
}

/** When coverage is recorded: every object of the set against the kernel's full BTF. */
export function setCoverage(kernel: BtfSpec, set: ObjectSet): ObjectCoverage[] {
  return set.objects.map((object) => ({
    ...computeCoverage(kernel, { name: object.name, btf: object.parsed.btf, relocations: object.parsed.relocations }),
    sha256: object.sha256,
  }));
}


/**
 * When a kernel's full BTF is at hand and a set needs (re-)minifying: never throws, records the
 * error instead. `kernelSpec` may be a lazily opened one (openBtf): coverage reads few types.
 */
export async function pruneForSet(fullBtf: string, kernelSpec: BtfSpec, set: ObjectSet, context: PruneContext): Promise<MinifiedRecord> {
  const coverage = setCoverage(kernelSpec, set);
  const objects = set.objects.map((object) => object.path);
  try {
    const out = join(context.scratch, `${set.name}.btf`);
    await minCoreBtf(fullBtf, out, objects, { kernel: context.kernel, signal: context.signal });
    const bytes = await readFile(out);
    try {
      parseBtf(bytes);
    } catch (cause) {
      throw new FormatError(`the BTF minified for set ${set.name} does not parse: ${(cause as Error).message}`, { kernel: context.kernel, cause });
    }
    const digest = { sha256: sha256Hex(bytes), size: bytes.length };
    const path = minifiedPath(digest.sha256);
    const target = join(context.archiveRoot, path);
    if (!(await pathExists(target))) {
      await checkFixedPoint(out, bytes, set, objects, context);
      await mkdir(dirname(target), { recursive: true });
      await writeAtomically(target, (temp) => writeFile(temp, bytes));
    }
    return { fingerprint: set.fingerprint, file: { path, ...digest }, coverage };
  } catch (error) {
    return { fingerprint: set.fingerprint, coverage, error: describeError(error) };
  }
}

// bpftool reads the output back (libbpf's parser, the one consumers use) and minifies it to the
// same bytes: the file is well formed for libbpf and holds all the objects relocate against.
async function checkFixedPoint(out: string, bytes: Buffer, set: ObjectSet, objects: string[], context: PruneContext): Promise<void> {
  const again = join(context.scratch, `${set.name}.again.btf`);
  await minCoreBtf(out, again, objects, { kernel: context.kernel, signal: context.signal });
  if (!bytes.equals(await readFile(again))) {
    throw new FormatError(`minifying the set ${set.name} output again changed it: bpftool is not at a fixed point`, {
      kernel: context.kernel,
      hint: "report the kernel and objects; check the bpftool version",
    });
  }
}
