// Benchmark (issue 9, item 5): minifying an archive of N kernels for 3 object sets with
// `btfmill run`, against the bare `bpftool gen min_core_btf` calls that do the same minifying.
//
//   node test/bench/minify.ts [--kernels=N] [--runs=N] [--variants=V] [--btf=FILE] [--no-decode-baseline] [--keep]
//
// The archive: N kernels (default 1000), each a real `<kernel>.btf.tar.xz` written by
// archive/btf-tarball.ts and a manifest entry without minified files, so `btfmill run` finds
// every kernel due for every set. The BTF is real and full size: variants of this machine's
// /sys/kernel/btf/vmlinux (5.5 MB on a 6.x kernel; real kernels carry 3-8 MB), because both
// bpftool's cost and btfmill's (xz decoding, parsing) grow with the BTF, so a small stand-in would
// misstate the ratio. Compressing a 5.5 MB BTF with the tarball writer's `xz -6` takes ~4 s of CPU,
// so N distinct tarballs would take over an hour: V variants (default 8) are written (cached in
// .bench/minify-cache across runs) and kernel i hard-links variant i % V's tarball under a name of
// its own (release `r<i / V>`). Each variant changes the sizes of the structs the objects
// relocate against, so every variant minifies to different bytes. btfmill keeps no cache across
// kernels, so sharing tarball bytes helps it no more than the page cache helps the baseline.
//
// The objects: test/fixtures/bpf/*.c compiled with clang; sets `net` (tcprtt, sockops) and `proc`
// (kprobe, flavors), plus `all`, the union btfmill always minifies: 3 sets, 3 N minifications.
//
// Candidates (each its own process tree, measured by test/bench/measure.ts, taking turns over
// --runs=N, medians):
// - baseline, sequential: `xargs -P1 bpftool` over the 3 N `gen min_core_btf FULL OUT OBJS...`
//   lines, the full BTFs already decompressed on disk: its wall time is the sum of bare calls.
// - baseline, 2-way: the same lines with `xargs -P2`, for a fair wall-clock comparison.
// - decode + baseline, 2-way: what a BTFHub consumer does per kernel (`tar -xJf`, then the 3
//   calls), which shows what the stored form's xz decoding costs by itself.
// - btfmill: `bin/btfmill.js run` on the archive, its one source a loopback apt mirror with no
//   packages (a run needs a source), so the run is discovery of nothing plus the minify pass.
// After btfmill's run the bench checks every kernel x set was minified with no error and that
// btfmill published exactly the bytes the baseline's bpftool calls wrote.
import { createHash } from "node:crypto";
import { link, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseBtf } from "../../archive/btf/index.ts";
import { writeBtfTarball } from "../../archive/btf-tarball.ts";
import { loadBpfObject } from "../../archive/co-re/index.ts";
import { essentialName } from "../../archive/co-re/type-names.ts";
import { digestFile } from "../../archive/file-digest.ts";
import { archiveTarballPath, btfMemberName } from "../../archive/layout.ts";
import { emptyManifest, type Manifest } from "../../archive/manifest.ts";
import { readManifest, writeManifest } from "../../archive/state.ts";
import { keyPath, type KernelKey } from "../../archive/kernel-key.ts";
import { serveBookwormMirror } from "../fixtures/bookworm-mirror.ts";
import { makeCoreObject, type BpfFixture } from "../fixtures/bpf-objects.ts";
import { countOption, formatMeasurements, formatTable, measureCommand, median, type Measurement } from "./measure.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(repoRoot, "bin", "btfmill.js");
const sets: Record<string, BpfFixture[]> = { net: ["tcprtt", "sockops"], proc: ["kprobe", "flavors"] };
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");

interface Options {
  kernels: number;
  runs: number;
  variants: number;
  btf: string;
  decodeBaseline: boolean;
  keep: boolean;
}

function parseArgs(args: string[]): Options {
  const value = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const count = (name: string, fallback: number) => countOption(args, name, fallback);
  return {
    kernels: count("kernels", 1000),
    runs: count("runs", 1),
    variants: count("variants", 8),
    btf: value("btf") ?? "/sys/kernel/btf/vmlinux",
    decodeBaseline: !args.includes("--no-decode-baseline"),
    keep: args.includes("--keep"),
  };
}

// Bytes after a type's 12-byte record (include/uapi/linux/btf.h), to walk the raw type section.
function trailingBytes(kind: number, vlen: number): number {
  if (kind === 1 || kind === 14 || kind === 17) return 4; // INT, VAR, DECL_TAG
  if (kind === 3) return 12; // ARRAY
  if (kind === 4 || kind === 5 || kind === 15 || kind === 19) return 12 * vlen; // STRUCT, UNION, DATASEC, ENUM64
  if (kind === 6 || kind === 13) return 8 * vlen; // ENUM, FUNC_PROTO
  return 0;
}

/** Variant `v` of a kernel BTF: every struct/union named in `names` grows by 8 v bytes. */
function variantOf(bytes: Buffer, names: Set<string>, v: number): Buffer {
  const out = Buffer.from(bytes);
  const spec = parseBtf(bytes);
  const { typeStart } = spec.header;
  let offset = typeStart;
  for (const type of spec.types) {
    const info = out.readUInt32LE(offset + 4);
    if ((type.kind === "STRUCT" || type.kind === "UNION") && names.has(essentialName(type.name))) {
      out.writeUInt32LE(type.size + 8 * v, offset + 8);
    }
    offset += 12 + trailingBytes((info >>> 24) & 0x1f, info & 0xffff);
  }
  return out;
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

interface Bench {
  work: string;
  archive: string;
  config: string;
  keys: KernelKey[];
  variantOfKernel: (index: number) => number;
  fullBtfs: string[];
  tarballs: string[];
  objects: Record<string, string[]>;
  baseManifest: Manifest;
}

async function build(options: Options, work: string, cache: string): Promise<Bench> {
  const objectDir = join(work, "objects");
  await mkdir(objectDir, { recursive: true });
  const fixtures = [...new Set(Object.values(sets).flat())];
  const compiled = Object.fromEntries(
    await Promise.all(fixtures.map(async (name) => [name, await makeCoreObject(objectDir, name)] as const)),
  );
  const objects: Record<string, string[]> = Object.fromEntries(
    Object.entries(sets).map(([name, list]) => [name, list.map((fixture) => compiled[fixture]!)]),
  );
  // btfmill's union set: every object, in sha256 order as pipeline/object-registry.ts lists them.
  const digests = await Promise.all(
    fixtures.map(async (name) => [await sha256(compiled[name]!), compiled[name]!] as const),
  );
  objects.all = digests.sort(([a], [b]) => a.localeCompare(b)).map(([, path]) => path);

  // Names the objects relocate against: the variants change exactly these kernel types.
  const names = new Set<string>();
  for (const path of Object.values(compiled)) {
    const object = await loadBpfObject(path);
    for (const relocation of object.relocations)
      names.add(essentialName(object.btf.types[relocation.typeId - 1]!.name));
  }
  const source = await readFile(options.btf);
  const sourceId = createHash("sha256").update(source).digest("hex").slice(0, 16);
  await mkdir(join(work, "full"), { recursive: true });
  await mkdir(cache, { recursive: true });
  const fullBtfs: string[] = [];
  const tarballs: string[] = [];
  const kernelName = (v: number) => `6.1.0-${v + 1}-bench-amd64`;
  const pending: Promise<void>[] = [];
  for (let v = 0; v < options.variants; v++) {
    const full = join(work, "full", `${v}.btf`);
    await writeFile(full, variantOf(source, names, v));
    fullBtfs.push(full);
    const tarball = join(cache, `${sourceId}-${v}.btf.tar.xz`);
    tarballs.push(tarball);
    if (!existsSync(tarball)) pending.push(writeBtfTarball(full, `${kernelName(v)}.btf`, tarball));
    // Both cores: xz -6 on 5.5 MB is the slow part of setting up.
    if (pending.length === 2) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);

  const archive = join(work, "archive");
  const manifest = emptyManifest();
  const keys: KernelKey[] = [];
  const tarballDigests = await Promise.all(tarballs.map((tarball) => digestFile(tarball)));
  const btfDigests = await Promise.all(fullBtfs.map((full) => digestFile(full)));
  for (let i = 0; i < options.kernels; i++) {
    const v = i % options.variants;
    const key: KernelKey = {
      distro: "debian",
      release: `r${Math.floor(i / options.variants)}`,
      arch: "x86_64",
      kernel: kernelName(v),
    };
    keys.push(key);
    const path = archiveTarballPath(key);
    await mkdir(join(archive, path, ".."), { recursive: true });
    await link(tarballs[v]!, join(archive, path));
    manifest.kernels[keyPath(key)] = {
      key,
      flavor: "bench-amd64",
      status: "ok",
      kernelHasBtf: true,
      btf: btfDigests[v]!,
      tarball: { path, ...tarballDigests[v]! },
      kinds: ["INT", "STRUCT"],
      package: {
        name: `linux-image-${key.kernel}-dbg`,
        version: "1",
        url: `http://127.0.0.1/${key.kernel}.deb`,
        sha256: "0".repeat(64),
        size: 1,
        origin: "bench",
      },
      pahole: { version: "v1.24", flags: [] },
      bpftool: { version: "bench" },
      updatedAt: new Date(0).toISOString(),
    };
    if (btfMemberName(key) !== `${kernelName(v)}.btf`) throw new Error("member name mismatch");
  }
  return {
    work,
    archive,
    config: join(work, "btfmill.json"),
    keys,
    variantOfKernel: (index) => index % options.variants,
    fullBtfs,
    tarballs,
    objects,
    baseManifest: manifest,
  };
}

const setNames = ["all", "net", "proc"];

async function baselineLines(bench: Bench, outDir: string): Promise<string> {
  const lines: string[] = [];
  bench.keys.forEach((_, i) => {
    for (const set of setNames) {
      lines.push(
        [
          "gen",
          "min_core_btf",
          bench.fullBtfs[bench.variantOfKernel(i)]!,
          join(outDir, `${i}-${set}.btf`),
          ...bench.objects[set]!,
        ].join(" "),
      );
    }
  });
  const file = join(bench.work, "baseline-calls.txt");
  await writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

async function decodeLines(bench: Bench, outDir: string): Promise<{ lines: string; script: string }> {
  // One kernel per line: its tarball, member, and output prefix; the objects are in the script.
  const script = join(bench.work, "decode-and-minify.sh");
  const calls = setNames
    .map((set) => `bpftool gen min_core_btf "$d/$2" "$3-${set}.btf" ${bench.objects[set]!.join(" ")}`)
    .join(" && ");
  await writeFile(script, `d=$(mktemp -d "${outDir}/x.XXXXXX") && tar -xJf "$1" -C "$d" && ${calls} && rm -r "$d"\n`);
  const lines = bench.keys.map(
    (key, i) => `${join(bench.archive, archiveTarballPath(key))} ${btfMemberName(key)} ${join(outDir, String(i))}`,
  );
  const file = join(bench.work, "decode-kernels.txt");
  await writeFile(file, `${lines.join("\n")}\n`);
  return { lines: file, script };
}

async function resetArchive(bench: Bench): Promise<void> {
  await rm(join(bench.archive, "minified"), { recursive: true, force: true });
  await writeManifest(bench.archive, bench.baseManifest);
}

async function checkBtfmill(bench: Bench, baselineOut: string): Promise<string> {
  const manifest = await readManifest(bench.archive);
  let minified = 0;
  const errors: string[] = [];
  const mismatched: string[] = [];
  for (const [i, key] of bench.keys.entries()) {
    const entry = manifest.kernels[keyPath(key)]!;
    for (const set of setNames) {
      const record = entry.minified?.[set];
      if (record?.file === undefined) {
        errors.push(`${keyPath(key)} [${set}]: ${record?.error ?? "not minified"}`);
        continue;
      }
      minified++;
      // Every output: btfmill minifies a set from the union's output, the baseline from the full BTF.
      if ((await sha256(join(baselineOut, `${i}-${set}.btf`))) !== record.file.sha256)
        mismatched.push(`${keyPath(key)} [${set}]`);
    }
  }
  if (errors.length > 0 || mismatched.length > 0) {
    throw new Error(
      `btfmill's run is not the baseline's work: ${errors.length} errors (${errors.slice(0, 3).join("; ")}), different bytes for ${mismatched.length} (${mismatched.slice(0, 5).join(", ") || "none"})`,
    );
  }
  return `${minified} minified files checked, each the same bytes as the bare bpftool call on the full BTF made`;
}

async function main(args: string[]): Promise<void> {
  const options = parseArgs(args);
  const work = join(repoRoot, ".bench", `minify-${process.pid}`);
  const cache = join(repoRoot, ".bench", "minify-cache");
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  let server: Awaited<ReturnType<typeof serveBookwormMirror>>["server"] | undefined;
  try {
    const setupStart = performance.now();
    const bench = await build(options, work, cache);
    const served = await serveBookwormMirror(join(work, "mirror-work"), []);
    server = served.server;
    await writeFile(
      bench.config,
      JSON.stringify({
        archive: bench.archive,
        jobs: 2,
        sources: [
          { distro: "debian", release: "12", arch: "x86_64", mirror: server.url, keyring: served.mirror.keyring },
        ],
        objects: { net: bench.objects.net, proc: bench.objects.proc },
      }),
    );
    const baselineOut = join(work, "baseline-out");
    const decodeOut = join(work, "decode-out");
    const calls = await baselineLines(bench, baselineOut);
    const decode = await decodeLines(bench, decodeOut);
    const { size } = await stat(bench.tarballs[0]!);
    const { size: fullSize } = await stat(bench.fullBtfs[0]!);
    console.log(
      `${options.kernels} kernels (${options.variants} BTF variants of ${options.btf}, ${(fullSize / 1e6).toFixed(1)} MB raw, ${(size / 1e6).toFixed(2)} MB .btf.tar.xz) x ${setNames.length} sets ` +
        `(${setNames.join(", ")}) = ${options.kernels * setNames.length} minifications; set up in ${((performance.now() - setupStart) / 1000).toFixed(0)} s; ` +
        `${options.runs} run(s); load average ${load()}`,
    );

    const rows: Record<string, Measurement[]> = { sequential: [], parallel: [], decode: [], btfmill: [] };
    let check = "";
    for (let run = 1; run <= options.runs; run++) {
      for (const dir of [baselineOut, decodeOut]) {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
      }
      rows.sequential!.push(
        await measureCommand("baseline: bare bpftool calls, sequential (sum of times)", [
          "xargs",
          "-a",
          calls,
          "-L",
          "1",
          "-P",
          "1",
          "bpftool",
        ]),
      );
      rows.parallel!.push(
        await measureCommand("baseline: bare bpftool calls, 2 at a time", [
          "xargs",
          "-a",
          calls,
          "-L",
          "1",
          "-P",
          "2",
          "bpftool",
        ]),
      );
      if (options.decodeBaseline) {
        rows.decode!.push(
          await measureCommand("tar -xJf + bare bpftool calls, 2 at a time", [
            "xargs",
            "-a",
            decode.lines,
            "-L",
            "1",
            "-P",
            "2",
            "sh",
            decode.script,
          ]),
        );
      }
      await resetArchive(bench);
      rows.btfmill!.push(
        await measureCommand("btfmill run (minify pass, jobs 2)", [
          process.execPath,
          cli,
          "run",
          "--config",
          bench.config,
        ]),
      );
      check = await checkBtfmill(bench, baselineOut);
      console.log(`  run ${run}: ${check}; load average ${load()}`);
    }
    const sequential = median(rows.sequential!);
    const parallel = median(rows.parallel!);
    const ours = median(rows.btfmill!);
    const table = [sequential, parallel, ...(options.decodeBaseline ? [median(rows.decode!)] : []), ours];
    console.log(`\n${formatMeasurements(table)}\n`);
    const cpu = (row: Measurement) => row.userSeconds + row.systemSeconds;
    const perCall = (row: Measurement) =>
      `${((row.wallSeconds * 1000) / (options.kernels * setNames.length)).toFixed(1)} ms`;
    const ratios = [
      [
        "",
        "wall",
        "wall per minification",
        "wall / sum of bare calls",
        "wall / bare calls 2 at a time",
        "CPU / bare calls' CPU",
      ],
      ...table.map((row) => [
        row.label.replace(/ \[median.*$/, ""),
        `${row.wallSeconds.toFixed(1)} s`,
        perCall(row),
        `${(row.wallSeconds / sequential.wallSeconds).toFixed(2)}x`,
        `${(row.wallSeconds / parallel.wallSeconds).toFixed(2)}x`,
        `${(cpu(row) / cpu(sequential)).toFixed(2)}x`,
      ]),
    ];
    console.log(formatTable(ratios));
    console.log(
      `\ntarget (issue 9, item 5): btfmill wall <= 1.2x the sum of bare calls: ${(ours.wallSeconds / sequential.wallSeconds).toFixed(2)}x ` +
        `(${ours.wallSeconds / sequential.wallSeconds <= 1.2 ? "met" : "missed"}); against the bare calls run 2 at a time: ${(ours.wallSeconds / parallel.wallSeconds).toFixed(2)}x. ` +
        `Load average now ${load()}.`,
    );
  } finally {
    await server?.close();
    if (options.keep) console.log(`kept ${work} (its config names a mirror that is gone now)`);
    else await rm(work, { recursive: true, force: true });
  }
}

await main(process.argv.slice(2));
