// Prune stage: one kernel's full BTF minified for one object set with `bpftool gen min_core_btf`,
// with the coverage bpftool does not report (it drops unsatisfiable relocations silently).
// The output is published only when both parsers accept it and minifying it again changes
// nothing; it is stored once by content, whichever kernels and sets share it.
import { access, copyFile, mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseBtf, type BtfSpec } from "../../archive/btf/index.ts";
import { computeCoverage } from "../../archive/core/index.ts";
import { writeAtomically } from "../../archive/atomic-write.ts";
import { digestFile } from "../../archive/file-digest.ts";
import { minifiedPath } from "../../archive/layout.ts";
import type { MinifiedRecord, ObjectCoverage } from "../../archive/manifest.ts";
import { FormatError, describeError } from "../errors.ts";
import type { ObjectSet } from "../object-registry.ts";
import { bpftoolParses, minCoreBtf } from "../tools/bpftool.ts";

export interface PruneContext {
  archiveRoot: string;
  /** A folder of this kernel's own, removed by the caller. */
  scratch: string;
  kernel: string;
  signal?: AbortSignal;
}

/** When coverage is recorded: every object of the set against the kernel's full BTF. */
export function setCoverage(kernel: BtfSpec, set: ObjectSet): ObjectCoverage[] {
  return set.objects.map((object) => ({
    ...computeCoverage(kernel, { name: object.name, btf: object.parsed.btf, relocations: object.parsed.relocations }),
    sha256: object.sha256,
  }));
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** When a kernel's full BTF is at hand and a set needs (re-)minifying: never throws, records the error instead. */
export async function pruneForSet(fullBtf: string, kernelSpec: BtfSpec, set: ObjectSet, context: PruneContext): Promise<MinifiedRecord> {
  const coverage = setCoverage(kernelSpec, set);
  const objects = set.objects.map((object) => object.path);
  try {
    const out = join(context.scratch, `${set.name}.btf`);
    const again = join(context.scratch, `${set.name}.again.btf`);
    await minCoreBtf(fullBtf, out, objects, { kernel: context.kernel, signal: context.signal });
    const bytes = await readFile(out);
    try {
      parseBtf(bytes);
    } catch (cause) {
      throw new FormatError(`the BTF minified for set ${set.name} does not parse: ${(cause as Error).message}`, { kernel: context.kernel, cause });
    }
    await bpftoolParses(out, { kernel: context.kernel, signal: context.signal });
    await minCoreBtf(out, again, objects, { kernel: context.kernel, signal: context.signal });
    if (!bytes.equals(await readFile(again))) {
      throw new FormatError(`minifying the set ${set.name} output again changed it: bpftool is not at a fixed point`, {
        kernel: context.kernel,
        hint: "report the kernel and objects; check the bpftool version",
      });
    }
    const digest = await digestFile(out);
    const path = minifiedPath(digest.sha256);
    const target = join(context.archiveRoot, path);
    if (!(await exists(target))) {
      await mkdir(dirname(target), { recursive: true });
      await writeAtomically(target, (temp) => copyFile(out, temp));
    }
    return { fingerprint: set.fingerprint, file: { path, ...digest }, coverage };
  } catch (error) {
    return { fingerprint: set.fingerprint, coverage, error: describeError(error) };
  }
}
