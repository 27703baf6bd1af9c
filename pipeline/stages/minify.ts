// Minify stage: one kernel's full BTF minified for each object set with `bpftool gen min_core_btf`,
// with the coverage bpftool does not report (it drops unsatisfiable relocations silently).
// The output is stored once by content, whichever kernels and sets share it.
//
// What is checked, and how often. Decoding the stored full BTF and one bpftool run on it are the
// unavoidable cost; the minify pass must stay within 20% of the bare bpftool runs, and even on a
// tiny file a bpftool process costs a good part of a full run (figures: test/bench/minify.ts,
// docs/performance.md item 5), so checks that spawn run only where they add something:
// - Our reader parses every output: an independent parser, in memory, well under a millisecond.
// - bpftool accepts the file and minifying it again changes nothing (the fixed point): checked
//   by one more `gen min_core_btf` run with the output as input (libbpf's btf__parse reads it, as
//   `bpftool btf dump` would, so a separate dump adds nothing), once per distinct output, before
//   it enters the content-addressed store. An output whose bytes are already stored was checked
//   when they were stored: the same bytes pass the same checks. Kernels of one series share most
//   minified files, so most outputs of a large run are already stored.
// Reproducibility needs no run-time check: bpftool's output depends only on its inputs (pinned
// by test/pipeline/tools/bpftool.test.ts), and the stored name is the sha256 of the bytes.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { btfMemberOf } from "../../archive/btf-tarball.ts";
import { parseBtf, type BtfSpec } from "../../archive/btf/index.ts";
import { computeCoverage } from "../../archive/co-re/index.ts";
import { writeAtomically } from "../../archive/atomic-write.ts";
import { pathExists } from "../../archive/file-listing.ts";
import { minifiedPath } from "../../archive/layout.ts";
import type { MinifiedRecord, ObjectCoverage } from "../../archive/manifest.ts";
import { FormatError, describeError } from "../../archive/errors.ts";
import type { ObjectSet } from "../object-registry.ts";
import { minCoreBtf } from "../tools/bpftool.ts";
import { runFileTool } from "../tools/spawner.ts";
import { sha256Hex } from "../../archive/file-digest.ts";

export interface MinifyContext {
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
export async function extractStoredBtf(
  tarball: string,
  fullBtf: string,
  options: { kernel: string; signal?: AbortSignal },
): Promise<Buffer> {
  const memberName = basename(fullBtf);
  const hint = `the stored tarball is damaged or does not hold ${memberName}: restore it from the published site or a backup`;
  // xz decoding is most of it (test/bench/minify.ts). xz writes the tar straight to a file and
  // the member is cut out here: `tar -xJf` would add a process and a pipe that copies every
  // byte, and reading the tar here costs no more than reading the extracted BTF did.
  const decoded = `${fullBtf}.tar`;
  await runFileTool("xz", ["-dc", "--", tarball], {
    stdoutFile: decoded,
    timeoutMs: 5 * 60_000,
    kernel: options.kernel,
    signal: options.signal,
    hint,
  });
  const member = await btfMemberOf(await readFile(decoded), memberName);
  if (member === undefined)
    throw new FormatError(`${tarball} holds no file ${memberName}`, { kernel: options.kernel, hint });
  await writeFile(fullBtf, member);
  return member;
}

// A set is minified from the output of a larger set of this kernel that holds all its objects,
// when there is one: bpftool keeps a type (and a member) only when a relocation of the objects
// reaches it, and keeps them in the input's order, so the larger output holds everything the
// set's relocations reach, in the full BTF's order, and the result is the same bytes (checked on
// real kernel BTF by test/pipeline/stages/minify-derived.test.ts). bpftool then parses a few KB
// instead of the full 3-8 MB, a fraction of a full run (test/bench/minify.ts; the union set
// `all` holds every object, so every other set can start from its output).
function smallestSource(set: ObjectSet, done: { set: ObjectSet; output: string }[]): string | undefined {
  const wanted = set.objects.map((object) => object.sha256);
  const holders = done.filter((source) => {
    const held = new Set(source.set.objects.map((object) => object.sha256));
    return wanted.every((sha256) => held.has(sha256));
  });
  holders.sort((a, b) => a.set.objects.length - b.set.objects.length);
  return holders[0]?.output;
}

/**
 * When a kernel's full BTF is at hand and sets need (re-)minifying: never throws, records each
 * set's error instead. `kernelSpec` may be a lazily opened one (openBtf): coverage reads few types.
 * Returns the records in `sets`' order; `onMinified` hears of each as it is made.
 */
export async function minifySets(
  fullBtf: string,
  kernelSpec: BtfSpec,
  sets: readonly ObjectSet[],
  context: MinifyContext,
  onMinified?: (set: ObjectSet, record: MinifiedRecord) => void,
): Promise<Record<string, MinifiedRecord>> {
  const records = new Map<string, MinifiedRecord>();
  const done: { set: ObjectSet; output: string }[] = [];
  // An object in several sets (every object is in `all`) has one coverage on this kernel.
  const byObject = new Map<string, ObjectCoverage>();
  const coverageOf = (set: ObjectSet) =>
    set.objects.map((object) => {
      let coverage = byObject.get(object.sha256);
      if (coverage === undefined) {
        coverage = {
          ...computeCoverage(kernelSpec, {
            name: object.name,
            btf: object.parsed.btf,
            relocations: object.parsed.relocations,
          }),
          sha256: object.sha256,
        };
        byObject.set(object.sha256, coverage);
      }
      return coverage;
    });
  // Larger sets first, so the smaller ones can start from their outputs.
  for (const set of [...sets].sort((a, b) => b.objects.length - a.objects.length)) {
    const output = join(context.scratch, `${set.name}.btf`);
    const record = await minifyForSet(smallestSource(set, done) ?? fullBtf, output, coverageOf(set), set, context);
    if (record.file !== undefined) done.push({ set, output });
    records.set(set.name, record);
    onMinified?.(set, record);
  }
  return Object.fromEntries(sets.map((set) => [set.name, records.get(set.name)!]));
}

async function minifyForSet(
  input: string,
  out: string,
  coverage: ObjectCoverage[],
  set: ObjectSet,
  context: MinifyContext,
): Promise<MinifiedRecord> {
  const objects = set.objects.map((object) => object.path);
  try {
    await minCoreBtf(input, out, objects, { kernel: context.kernel, signal: context.signal });
    const bytes = await readFile(out);
    try {
      parseBtf(bytes);
    } catch (cause) {
      throw new FormatError(`the BTF minified for set ${set.name} does not parse: ${(cause as Error).message}`, {
        kernel: context.kernel,
        cause,
      });
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
async function checkFixedPoint(
  out: string,
  bytes: Buffer,
  set: ObjectSet,
  objects: string[],
  context: MinifyContext,
): Promise<void> {
  const again = join(context.scratch, `${set.name}.again.btf`);
  await minCoreBtf(out, again, objects, { kernel: context.kernel, signal: context.signal });
  if (!bytes.equals(await readFile(again))) {
    throw new FormatError(`minifying the set ${set.name} output again changed it: bpftool is not at a fixed point`, {
      kernel: context.kernel,
      hint: "report the kernel and objects; check the bpftool version",
    });
  }
}
