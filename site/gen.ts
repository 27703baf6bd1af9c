// `btfmill gen`: minifies any BPF objects for every kernel a source of full BTF offers (gen-sources.ts),
// registering nothing: what Tracee's and Inspektor Gadget's build scripts do over a btfhub-archive
// clone (`tar -xJf` then `bpftool gen min_core_btf` per kernel), with coverage per kernel and
// object, on all cores, and incremental: a kernel whose input and objects are unchanged since the
// last run into the same folder is not minified again. Writes what `pull` writes.
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import pLimit from "p-limit";
import { writeAtomically, writeFileAtomically } from "../archive/atomic-write.ts";
import { openBtf } from "../archive/btf/lazy.ts";
import { btfMemberOf } from "../archive/btf-tarball.ts";
import { computeCoverage, loadBpfObject, type BpfObject, type Coverage } from "../archive/co-re/index.ts";
import { sha256Hex } from "../archive/file-digest.ts";
import { arches, keyPath } from "../archive/kernel-key.ts";
import { ConfigError, FormatError } from "../archive/errors.ts";
import { normalizeArch } from "./arch.ts";
import type { CdnBundle, CdnFile } from "./cdn-manifest.ts";
import { writeBundle } from "./publish-bundles.ts";
import { neededModules } from "./gen-modules.ts";
import { openGenSource, type BtfhubEndpoints, type GenInput } from "./gen-sources.ts";
import { pullIndexName } from "./pull-index.ts";
import { matchSources } from "./read-manifest.ts";
import { goEmbedSource } from "./pull-go.ts";

export interface GenOptions {
  objects: readonly string[];
  from: string;
  out: string;
  /** Downloads by content, shared between runs and output folders. */
  cache: string;
  distro?: string | undefined;
  release?: string | undefined;
  arch?: string | undefined;
  emitGo?: { packageName: string } | undefined;
  /** Also write `bundles/gen/<arch>.tar.xz`, as publish does per set. */
  bundle?: boolean | undefined;
  btfhub?: BtfhubEndpoints | undefined;
  jobs?: number | undefined;
  /** The caller's tool runner: bpftool gen min_core_btf, and `xz -dc INPUT > OUTPUT`. */
  tools: GenTools;
  signal?: AbortSignal | undefined;
}

export interface GenTools {
  minify: (input: string, output: string, objects: readonly string[]) => Promise<void>;
  xzDecode: (input: string, output: string) => Promise<void>;
}

export type GenCoverage = Coverage & { sha256: string };

/** `index.json`: pull's index, plus what gen needs to tell an unchanged kernel and what it reports. */
export interface GenIndex {
  schemaVersion: 1;
  from: string;
  set: "gen";
  generatedAt: string;
  kernels: Record<string, CdnFile>;
  hasBtf: string[];
  failed: Record<string, string>;
  objects: { name: string; sha256: string }[];
  /** Kernel key -> the digest of the full BTF it was minified from (and of its modules', when the source has them). */
  inputs: Record<string, string>;
  coverage: Record<string, GenCoverage[]>;
  /** Kernel key -> the modules (lsmod names) merged with its BTF before minifying, because the objects read their types; absent for kernels with none. */
  mergedModules?: Record<string, string[]>;
  /** Kernels on which some object has relocations that do not resolve (file kept, listed here). */
  broken: string[];
  /** With --bundle: one solid .tar.xz per arch of the files above. */
  bundles?: CdnBundle[];
}

export interface GenSummary {
  minified: number;
  unchanged: number;
  failed: number;
  downloads: number;
  index: GenIndex;
}

/** When the user runs `btfmill gen`: the output folder brought up to date for `objects` on every kernel of `from`. */
export async function gen(options: GenOptions): Promise<GenSummary> {
  const objects = await Promise.all(
    options.objects.map(async (path) => ({
      path,
      name: path.split("/").at(-1)!,
      sha256: sha256Hex(await readObject(path)),
      parsed: await loadBpfObject(path),
    })),
  );
  const arch = options.arch === undefined ? undefined : normalizeArch(options.arch);
  const wanted = matchSources({ distro: options.distro, release: options.release, arch });
  const source = await openGenSource(options.from, options.cache, {
    btfhub: options.btfhub,
    sources: wanted,
    signal: options.signal,
  });
  const inputs = source.inputs
    .filter((input) => wanted(input.key))
    .sort((a, b) => keyPath(a.key).localeCompare(keyPath(b.key)));
  const previous = await readFile(join(options.out, pullIndexName), "utf8").then(
    (text) => JSON.parse(text) as GenIndex,
    () => undefined,
  );
  const sameObjects =
    previous !== undefined &&
    JSON.stringify(previous.objects) === JSON.stringify(objects.map(({ name, sha256 }) => ({ name, sha256 })));
  const index: GenIndex = {
    schemaVersion: 1,
    from: options.from,
    set: "gen",
    generatedAt: new Date().toISOString(),
    kernels: {},
    hasBtf: [],
    failed: {},
    objects: objects.map(({ name, sha256 }) => ({ name, sha256 })),
    inputs: {},
    coverage: {},
    broken: [],
  };
  const summary = { minified: 0, unchanged: 0, failed: 0 };
  const modules: Record<string, string[]> = {};
  await mkdir(options.out, { recursive: true });
  const scratch = await mkdtemp(join(options.out, ".gen-"));
  const limit = pLimit(options.jobs ?? availableParallelism());
  const folders = new Set<string>();
  try {
    await Promise.all(
      inputs.map((input) =>
        limit(async () => {
          const key = keyPath(input.key);
          const file = previous?.kernels[key];
          // Modules the objects may need are part of the input: a changed module set minifies again.
          const digest = input.modules === undefined ? input.digest : `${input.digest}+modules:${input.modules.digest}`;
          if (
            sameObjects &&
            file !== undefined &&
            previous!.inputs[key] === digest &&
            (await current(join(options.out, file.path), file))
          ) {
            index.kernels[key] = file;
            index.inputs[key] = digest;
            index.coverage[key] = previous!.coverage[key] ?? [];
            const merged = previous!.mergedModules?.[key];
            if (merged !== undefined) modules[key] = merged;
            summary.unchanged += 1;
            return;
          }
          try {
            const made = await minifyOne(input, objects, join(options.out, `${key}.btf`), scratch, folders, options);
            index.kernels[key] = { path: `${key}.btf`, ...made.file };
            index.inputs[key] = digest;
            index.coverage[key] = made.coverage;
            if (made.modules !== undefined) modules[key] = made.modules;
            summary.minified += 1;
          } catch (error) {
            index.failed[key] = error instanceof Error ? error.message : String(error);
            summary.failed += 1;
          }
        }),
      ),
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  for (const [key, file] of Object.entries(previous?.kernels ?? {})) {
    if (index.kernels[key] === undefined) await rm(join(options.out, file.path), { force: true });
  }
  index.broken = Object.entries(index.coverage)
    .filter(([, coverage]) => coverage.some((object) => object.unresolved.length > 0))
    .map(([key]) => key)
    .sort();
  const sorted: GenIndex = {
    ...index,
    kernels: sortedRecord(index.kernels),
    failed: sortedRecord(index.failed),
    inputs: sortedRecord(index.inputs),
    coverage: sortedRecord(index.coverage),
    ...(Object.keys(modules).length === 0 ? {} : { mergedModules: sortedRecord(modules) }),
  };
  if (options.bundle)
    sorted.bundles = await bundles(options.out, sorted, summary.minified === 0 ? previous?.bundles : undefined);
  await writeFileAtomically(join(options.out, pullIndexName), `${JSON.stringify(sorted, null, 2)}\n`);
  if (options.emitGo)
    await writeFileAtomically(join(options.out, "btf_embed.go"), goEmbedSource(options.emitGo.packageName, sorted));
  return { ...summary, downloads: source.downloads(), index: sorted };
}

async function minifyOne(
  input: GenInput,
  objects: { path: string; name: string; sha256: string; parsed: BpfObject }[],
  target: string,
  scratch: string,
  /** Output folders made so far in this run: each is made once, not once per kernel. */
  folders: Set<string>,
  options: GenOptions,
): Promise<{ file: { sha256: string; size: number }; coverage: GenCoverage[]; modules?: string[] }> {
  const fetched = await input.fetch(options.signal);
  const stem = join(scratch, keyPath(input.key).replaceAll("/", "_"));
  let raw = fetched;
  /** Scratch files this kernel wrote, removed when it is done. */
  const written: string[] = [];
  // Coverage on the kernel's own BTF first: only relocations that miss there send gen to the
  // kernel's modules, so a kernel whose objects need only vmlinux types gets the bytes it gets without.
  const coverageOn = async (bytes: Uint8Array): Promise<{ coverage: GenCoverage[]; modules?: string[] }> => {
    const kernel = openBtf(bytes);
    const own = objects.map((object) => ({
      name: object.name,
      btf: object.parsed.btf,
      relocations: object.parsed.relocations,
    }));
    const coverage = own.map((object) => computeCoverage(kernel, object));
    const needed =
      input.modules === undefined
        ? undefined
        : await neededModules(bytes, kernel, input.modules, own, coverage, options.signal);
    const withDigest = (list: Coverage[]) => list.map((entry, index) => ({ ...entry, sha256: objects[index]!.sha256 }));
    if (needed === undefined) return { coverage: withDigest(coverage) };
    raw = `${stem}.merged.btf`;
    written.push(raw);
    await writeFile(raw, needed.kernel.bytes);
    const { spec, moduleOf } = needed.kernel;
    return {
      coverage: withDigest(own.map((object) => computeCoverage(spec, object, { moduleOf }))),
      modules: needed.merged,
    };
  };
  try {
    let made: { coverage: GenCoverage[]; modules?: string[] };
    if (input.form === "tarball") {
      // xz writes the tar to a file and the member is cut out here, as the minify stage does: no tar
      // process, no second read. BTFHub's tarballs hold one `<kernel>.btf` (some `./`-prefixed).
      await options.tools.xzDecode(fetched, `${stem}.tar`);
      made = await withFileBytes(`${stem}.tar`, async (tarBytes) => {
        await rm(`${stem}.tar`);
        const member = await btfMemberOf(tarBytes, (name) => name.endsWith(".btf"));
        if (member === undefined)
          throw new FormatError(`${fetched} holds no .btf file`, {
            kernel: keyPath(input.key),
            hint: "BTFHub's tarballs hold one <kernel>.btf",
          });
        raw = `${stem}.btf`;
        written.push(raw);
        await writeFile(raw, member);
        return await coverageOn(member);
      });
    } else {
      made = await coverageOn(await readFile(raw));
    }
    const folder = join(target, "..");
    if (!folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      folders.add(folder);
    }
    await writeAtomically(
      target,
      (temp) =>
        options.tools.minify(
          raw,
          temp,
          objects.map((object) => object.path),
        ),
      { durable: false },
    );
    const minified = await readFile(target);
    return { file: { sha256: sha256Hex(minified), size: minified.length }, ...made };
  } finally {
    for (const path of written) await rm(path, { force: true });
  }
}

// A decoded tarball (5.5 MB for a 6.x kernel) is read into one of a few reused buffers, one per
// kernel in flight, instead of a new one each time: with 1,000 kernels a fresh buffer per kernel
// cost ~6 ms of CPU each in allocation and the collections its external memory forced.
const spareBuffers: Buffer[] = [];

async function withFileBytes<T>(path: string, use: (bytes: Buffer) => Promise<T>): Promise<T> {
  const file = await open(path);
  let buffer: Buffer | undefined;
  try {
    const { size } = await file.stat();
    buffer = spareBuffers.pop();
    if (buffer === undefined || buffer.length < size) buffer = Buffer.allocUnsafeSlow(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await file.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return await use(buffer.subarray(0, filled));
  } finally {
    await file.close();
    if (buffer !== undefined) spareBuffers.push(buffer);
  }
}

// A bundle is rewritten only when a kernel was minified or the set of files changed: xz -9 over
// every file is the slowest step of a run with nothing new.
async function bundles(out: string, index: GenIndex, unchanged: CdnBundle[] | undefined): Promise<CdnBundle[]> {
  const written: CdnBundle[] = [];
  for (const arch of arches) {
    const members = Object.entries(index.kernels)
      .filter(([key]) => key.split("/")[2] === arch)
      .map(([key, file]) => ({ name: `${key}.btf`, path: file.path, size: file.size }));
    if (members.length === 0) continue;
    const previous = unchanged?.find((bundle) => bundle.arch === arch && bundle.files === members.length);
    if (previous !== undefined && (await current(join(out, previous.path), previous))) written.push(previous);
    else written.push(await writeBundle(out, "gen", arch, members));
  }
  return written;
}

// Sized first, then hashed: a file someone altered is made again.
async function current(path: string, file: CdnFile): Promise<boolean> {
  try {
    if ((await stat(path)).size !== file.size) return false;
    return sha256Hex(await readFile(path)) === file.sha256;
  } catch {
    return false;
  }
}

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

// A path that names no file is the user's to fix, not a crash: say which and what is wanted.
async function readObject(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new ConfigError(`cannot read the BPF object ${path}: ${(cause as Error).message}`, {
      cause,
      hint: "give --objects the paths of compiled BPF objects with BTF (clang -target bpf -g -O2 -c prog.bpf.c)",
    });
  }
}
