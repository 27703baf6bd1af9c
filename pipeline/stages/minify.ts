// Minify stage: one kernel's full BTF minified for each object set with `bpftool gen min_core_btf`,
// with the coverage bpftool does not report (it drops unsatisfiable relocations silently).
// The output is stored once by content, whichever kernels and sets share it. A set whose objects
// read types only the kernel's modules hold is minified from the kernel's BTF with those modules
// merged in (newMinifyInputs; docs/pipeline.md step 6), so its file is still one standalone BTF.
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
import { btfMemberOf, btfMembersByName } from "../../archive/btf-tarball.ts";
import { parseBtf, type BtfSpec } from "../../archive/btf/index.ts";
import {
  chooseModules,
  computeCoverage,
  mergeModules,
  newModuleFinder,
  type CoverageOptions,
  type ModuleFinder,
} from "../../archive/co-re/index.ts";
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
  /** The kernel's modules, when it has a modules tarball: sets whose objects need module types get them merged in. */
  modules?: ModuleSource;
  signal?: AbortSignal;
}

/** A kernel's modules as the minify stage reads them: opened only when a relocation misses in vmlinux. */
export interface ModuleSource {
  /** sha256 of the kernel's `<kernel>.modules.btf.tar.xz`: recorded, so a changed module set minifies again. */
  tarball: string;
  /** The kernel's full BTF: the modules' base. */
  base: Uint8Array;
  /** Each module's split BTF by lsmod name. */
  load(): Promise<ReadonlyMap<string, Uint8Array>>;
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

/** When a kernel's objects need module types: every `<module>.btf` of its stored modules tarball, by module name. */
export async function extractStoredModules(
  tarball: string,
  scratchTar: string,
  options: { kernel: string; signal?: AbortSignal },
): Promise<Map<string, Buffer>> {
  await runFileTool("xz", ["-dc", "--", tarball], {
    stdoutFile: scratchTar,
    timeoutMs: 5 * 60_000,
    kernel: options.kernel,
    signal: options.signal,
    hint: "the stored modules tarball is damaged: restore it from the published site or a backup",
  });
  return await btfMembersByName(await readFile(scratchTar));
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
  // Outputs, with the modules merged into their input.
  const done: { set: ObjectSet; output: string; merged: string }[] = [];
  const inputs = newMinifyInputs(fullBtf, kernelSpec, context);
  // Larger sets first, so the smaller ones can start from their outputs.
  for (const set of [...sets].sort((a, b) => b.objects.length - a.objects.length)) {
    const output = join(context.scratch, `${set.name}.btf`);
    let record: MinifiedRecord;
    try {
      const input = await inputs.forSet(set);
      const key = input.merged.join(",");
      // A set that needs only vmlinux types may start from an output with modules merged: it
      // reaches none of their types (a module would have been merged for it), and its candidates
      // in vmlinux come first, so bpftool keeps what it keeps from the full BTF. A set that merges
      // modules starts only from an output of the same merge, whose copies of a type it shares.
      const source =
        smallestSource(
          set,
          done.filter((made) => key === "" || made.merged === key),
        ) ?? input.path;
      record = await minifyForSet(source, output, input.coverage, set, context);
      if (context.modules !== undefined)
        record = { ...record, modules: { tarball: context.modules.tarball, merged: input.merged } };
      if (record.file !== undefined) done.push({ set, output, merged: key });
    } catch (error) {
      // Without `modules` the record is out of date on a kernel with modules: the next run tries again.
      record = { fingerprint: set.fingerprint, coverage: inputs.kernelCoverage(set), error: describeError(error) };
    }
    records.set(set.name, record);
    onMinified?.(set, record);
  }
  return Object.fromEntries(sets.map((set) => [set.name, records.get(set.name)!]));
}

interface MinifyInput {
  /** The BTF bpftool minifies: the full BTF, or the full BTF with `merged` modules merged in. */
  path: string;
  merged: string[];
  coverage: ObjectCoverage[];
}

// What each set is minified from, and its coverage there. Coverage on the kernel's own BTF comes
// first: only relocations that miss there send the stage to the modules, so a kernel whose
// objects need only vmlinux types never opens its modules tarball and gets today's bytes.
function newMinifyInputs(fullBtf: string, kernelSpec: BtfSpec, context: MinifyContext) {
  // An object in several sets (every object is in `all`) has one coverage per input on this kernel.
  const coverages = new Map<string, ObjectCoverage>();
  const coverageOn = (object: ObjectSet["objects"][number], key: string, spec: BtfSpec, options: CoverageOptions) => {
    let coverage = coverages.get(`${object.sha256}\0${key}`);
    if (coverage === undefined) {
      const parsed = { name: object.name, btf: object.parsed.btf, relocations: object.parsed.relocations };
      coverage = { ...computeCoverage(spec, parsed, options), sha256: object.sha256 };
      coverages.set(`${object.sha256}\0${key}`, coverage);
    }
    return coverage;
  };
  const kernelCoverage = (set: ObjectSet) => set.objects.map((object) => coverageOn(object, "", kernelSpec, {}));

  // Read once per kernel, whichever set or object first needs a module.
  let loaded: Promise<ReadonlyMap<string, Uint8Array>> | undefined;
  const loadModules = () => (loaded ??= context.modules!.load());
  let finder: Promise<ModuleFinder> | undefined;
  const needs = new Map<string, string[][]>();
  const needsOf = async (object: ObjectSet["objects"][number], coverage: ObjectCoverage): Promise<string[][]> => {
    const { modules } = context;
    if (modules === undefined || coverage.guarded.length + coverage.unresolved.length === 0) return [];
    let found = needs.get(object.sha256);
    if (found === undefined) {
      finder ??= loadModules().then((splits) => newModuleFinder({ base: modules.base, modules: splits }));
      const parsed = { name: object.name, btf: object.parsed.btf, relocations: object.parsed.relocations };
      found = (await finder).modulesResolving(parsed, coverage);
      needs.set(object.sha256, found);
    }
    return found;
  };

  const merges = new Map<string, { path: string; spec: BtfSpec; moduleOf: (id: number) => string | undefined }>();
  const mergedInput = async (merged: string[]) => {
    const key = merged.join(",");
    let input = merges.get(key);
    if (input === undefined) {
      const result = mergeModules(context.modules!.base, await loadModules(), merged);
      const path = join(context.scratch, `merged-${merges.size}.btf`);
      await writeFile(path, result.bytes);
      input = { path, spec: result.spec, moduleOf: result.moduleOf };
      merges.set(key, input);
    }
    return input;
  };

  return {
    kernelCoverage,
    async forSet(set: ObjectSet): Promise<MinifyInput> {
      const own = kernelCoverage(set);
      const wanted = await Promise.all(set.objects.map((object, index) => needsOf(object, own[index]!)));
      const merged = chooseModules(wanted.flat());
      if (merged.length === 0) return { path: fullBtf, merged, coverage: own };
      const input = await mergedInput(merged);
      const key = merged.join(",");
      const coverage = set.objects.map((object) => coverageOn(object, key, input.spec, { moduleOf: input.moduleOf }));
      return { path: input.path, merged, coverage };
    },
  };
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
