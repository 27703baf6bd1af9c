// Benchmark (issue 9, item 6): `btfmill pull` of one set for one arch from a served site of 1,000
// kernels, the bundle path (one bundles/<set>/<arch>.tar.xz) against the per-file path (one
// request per kernel), then a second pull with nothing new (target: under 1 s). Every candidate is
// the real CLI in its own process, against `btfmill serve` on 127.0.0.1, with the bare start of
// the CLI (`--help`) measured in the same invocation as the baseline.
//
//   node test/bench/pull.ts [--kernels=N] [--runs=N] [--sweep]   (Node 24: make bench)
//
// --sweep also pulls with only some files missing, both ways, to show where the bundle starts to
// pay (what `--via auto` decides on).
//
// The site is published by btfmill's own publish from a synthetic archive: 3/4 of the kernels
// x86_64, 1/4 arm64, each minified for one object set (and the root set) by the minify stage from
// one of four kernel.c variants. Real minified files differ from kernel to kernel yet share most
// of their types, so each kernel's file is its variant's with ~16 KB of type-like names added to
// its string table, a third of them its own: sizes, and what a solid xz finds to share, stay
// plausible. Scratch space is .bench/ in the repository, removed at the end.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBtf } from "../../archive/btf/index.ts";
import { minifiedPath } from "../../archive/layout.ts";
import { emptyManifest, type MinifiedRecord } from "../../archive/manifest.ts";
import { writeManifest } from "../../archive/state.ts";
import { keyPath, type KernelKey } from "../../archive/kernel-key.ts";
import { loadObjectSets } from "../../pipeline/object-registry.ts";
import { minifySets } from "../../pipeline/stages/minify.ts";
import { publishSite } from "../../site/publish.ts";
import { makeCoreObject, makeKernelBtf, type KernelVariant } from "../fixtures/bpf-objects.ts";
import { countOption, formatMeasurements, formatTable, measureCommand, median, type Measurement } from "./measure.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(repoRoot, "bin", "btfmill.js");
const node = process.execPath;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
const variants: KernelVariant[] = ["normal", "renamed", "moved", "missing"];

// A BTF blob with `extra` appended to its string table, which must be its last section (pahole
// and bpftool write it so): an unreferenced string is valid BTF.
function withStrings(btf: Buffer, extra: string): Buffer {
  const headerLength = btf.readUInt32LE(4);
  const stringsOffset = btf.readUInt32LE(16);
  const stringsLength = btf.readUInt32LE(20);
  if (btf.readUInt16LE(0) !== 0xeb9f || headerLength + stringsOffset + stringsLength !== btf.length) {
    throw new Error("expected a little-endian BTF blob ending with its string table");
  }
  const added = Buffer.from(extra, "latin1");
  const out = Buffer.concat([btf, added]);
  out.writeUInt32LE(stringsLength + added.length, 20);
  return out;
}

// ~16 KB of names a minified kernel BTF carries; one in three is the kernel's own (a pseudo-random
// suffix), so a solid xz finds some 20:1 across kernels rather than the 160:1 of near-copies.
function typeNames(kernelIndex: number): string {
  const seed = createHash("sha256").update(String(kernelIndex)).digest();
  const names: string[] = [];
  for (let index = 0; index < 700; index++) {
    const own = index % 3 === 0 ? `_${((seed.readUInt32LE(index % 28) * (index + 1)) >>> 8).toString(16)}` : "";
    names.push(
      `${["task_struct", "sock_common", "inet_sock", "tcp_sock", "sk_buff", "net_device"][index % 6]}__field_${index}${own}\0`,
    );
  }
  return names.join("");
}

async function buildArchive(work: string, archive: string, count: number): Promise<void> {
  const scratch = join(work, "scratch");
  await mkdir(scratch, { recursive: true });
  const object = await makeCoreObject(scratch, "tcprtt");
  const sets = await loadObjectSets({ net: [{ path: object }] }, archive);
  // Per variant: its full BTF's digest and, per set, the minified record made by the minify stage.
  const templates: { btf: { sha256: string; size: number }; minified: Record<string, MinifiedRecord> }[] = [];
  for (const variant of variants) {
    const btf = await makeKernelBtf(scratch, variant);
    const spec = await loadBtf(btf);
    const dir = join(scratch, `minify-${variant}`);
    await mkdir(dir);
    const minified = await minifySets(btf, spec, sets, { archiveRoot: archive, scratch: dir, kernel: variant });
    const bytes = await readFile(btf);
    templates.push({ btf: { sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length }, minified });
  }
  const manifest = emptyManifest();
  const now = new Date().toISOString();
  manifest.updatedAt = now;
  for (const arch of ["x86_64", "arm64"] as const)
    manifest.sources[`debian/12/${arch}`] = { status: "ok", refreshedAt: now, checkedAt: now };
  for (let index = 0; index < count; index++) {
    const arch = index % 4 === 3 ? "arm64" : "x86_64";
    const flavor = arch === "arm64" ? "arm64" : index % 2 === 0 ? "amd64" : "cloud-amd64";
    const key: KernelKey = { distro: "debian", release: "12", arch, kernel: `6.1.0-${index + 1}-${flavor}` };
    const template = templates[index % templates.length]!;
    const minified: Record<string, MinifiedRecord> = {};
    for (const [set, record] of Object.entries(template.minified)) {
      if (record.file === undefined) throw new Error(`the minify stage made no file for set ${set}: ${record.error}`);
      const bytes = withStrings(await readFile(join(archive, record.file.path)), `${key.kernel}\0${typeNames(index)}`);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      const path = minifiedPath(sha256);
      await mkdir(dirname(join(archive, path)), { recursive: true });
      await writeFile(join(archive, path), bytes);
      minified[set] = { ...record, file: { path, sha256, size: bytes.length } };
    }
    manifest.kernels[keyPath(key)] = {
      key,
      flavor,
      status: "ok",
      kernelHasBtf: false,
      btf: template.btf,
      kinds: ["INT", "STRUCT"],
      package: {
        name: `linux-image-${key.kernel}-dbg`,
        version: `6.1.${index + 1}-1`,
        url: `http://127.0.0.1/${key.kernel}.deb`,
        sha256: "0".repeat(64),
        size: 1,
        origin: "bookworm",
      },
      pahole: { version: "v1.24", flags: [] },
      bpftool: { version: "bpftool v7.1.0" },
      minified,
      updatedAt: now,
    };
  }
  await writeManifest(archive, manifest);
  await rm(scratch, { recursive: true, force: true });
}

// `btfmill serve` as a user starts it; its first line names the URL.
async function serve(site: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(node, [cli, "serve", site, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.once("exit", (code) => reject(new Error(`btfmill serve exited with ${code}`)));
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      text += chunk;
      const match = / at (http:\/\/\S+?)\/? /.exec(text);
      if (match) resolve(match[1]!);
    });
  });
  return { url, child };
}

interface PullResult {
  downloaded: number;
  unchanged: number;
  bytes: number;
  bundles: number;
  fromBundles: number;
}

async function main(args: string[]): Promise<void> {
  const count = countOption(args, "kernels", 1000);
  const runs = countOption(args, "runs", 1);
  const work = join(repoRoot, ".bench", `pull-${process.pid}`);
  await mkdir(work, { recursive: true });
  let server: ChildProcess | undefined;
  try {
    const started = Date.now();
    const archive = join(work, "archive");
    await buildArchive(work, archive, count);
    const site = join(work, "site");
    const { manifest } = await publishSite({ archive, out: site, full: false });
    const bundle = manifest.bundles.find((item) => item.set === "all" && item.arch === "x86_64")!;
    const served = await serve(site);
    server = served.child;
    console.log(
      `site of ${count} kernels published in ${((Date.now() - started) / 1000).toFixed(1)} s; set all, x86_64: ${bundle.files} files, ` +
        `${(bundle.contentSize / 1e6).toFixed(1)} MB, bundle ${(bundle.size / 1e6).toFixed(2)} MB; ${runs} run(s); load average ${load()}`,
    );
    const out = join(work, "out");
    const pullArgs = (via: string) => [
      node,
      cli,
      "pull",
      "--from",
      served.url,
      "--out",
      out,
      "--arch",
      "x86_64",
      "--via",
      via,
      "--json",
    ];
    const pullRow = async (label: string, via: string, expected: Partial<PullResult>): Promise<Measurement> => {
      const row = await measureCommand(label, pullArgs(via));
      const result = JSON.parse(row.stdout) as PullResult;
      for (const [field, value] of Object.entries(expected)) {
        if (result[field as keyof PullResult] !== value)
          throw new Error(`${label}: ${field} ${result[field as keyof PullResult]}, expected ${value}`);
      }
      return row;
    };
    // Removes `missing` of the pulled files, spread over the set, so the next pull has them to fetch.
    const forget = async (missing: number): Promise<void> => {
      const index = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as {
        kernels: Record<string, { path: string }>;
      };
      const files = Object.values(index.kernels);
      const step = files.length / missing;
      for (let item = 0; item < missing; item++) await rm(join(out, files[Math.floor(item * step)]!.path));
    };
    const labels = [
      "baseline: btfmill --help (start-up)",
      "pull --via files (all missing)",
      "pull --via bundle (all missing)",
      "second pull, nothing new (auto)",
    ];
    const results = labels.map((): Measurement[] => []);
    // Candidates take turns, so a busy moment on a shared machine hits all of them alike.
    for (let run = 0; run < runs; run++) {
      results[0]!.push(await measureCommand(labels[0]!, [node, cli, "--help"]));
      await rm(out, { recursive: true, force: true });
      results[1]!.push(await pullRow(labels[1]!, "files", { downloaded: bundle.files, bundles: 0 }));
      await rm(out, { recursive: true, force: true });
      results[2]!.push(
        await pullRow(labels[2]!, "bundle", { downloaded: bundle.files, bundles: 1, fromBundles: bundle.files }),
      );
      results[3]!.push(await pullRow(labels[3]!, "auto", { downloaded: 0, unchanged: bundle.files, bytes: 0 }));
    }
    const rows = results.map((measured) => median(measured));
    console.log(`\n${formatMeasurements(rows)}\n`);
    const [startup, files, bundled, second] = rows as [Measurement, Measurement, Measurement, Measurement];
    const table = [
      ["", "wall", "/ start-up", "/ per-file pull", "wall - start-up", "target"],
      ...rows.map((row) => [
        row.label,
        `${row.wallSeconds.toFixed(2)} s`,
        `${(row.wallSeconds / startup.wallSeconds).toFixed(2)}x`,
        `${(row.wallSeconds / files.wallSeconds).toFixed(2)}x`,
        `${(row.wallSeconds - startup.wallSeconds).toFixed(2)} s`,
        row === second ? (row.wallSeconds < 1 ? "< 1 s: met" : "< 1 s: MISSED") : "",
      ]),
    ];
    console.log(formatTable(table));
    console.log(
      `\nbundle / per-file: wall ${(bundled.wallSeconds / files.wallSeconds).toFixed(2)}x, beyond start-up ` +
        `${((bundled.wallSeconds - startup.wallSeconds) / (files.wallSeconds - startup.wallSeconds)).toFixed(2)}x (load average now ${load()})`,
    );

    if (args.includes("--sweep")) {
      const sweep = [["missing files", "per-file", "bundle", "bundle / per-file"]];
      for (const missing of [8, 32, 96, Math.floor(bundle.files / 4), Math.floor(bundle.files / 2)]) {
        const walls = { files: [] as Measurement[], bundle: [] as Measurement[] };
        for (let run = 0; run < runs; run++) {
          for (const via of ["files", "bundle"] as const) {
            await forget(missing);
            walls[via].push(await pullRow(`${missing} missing, --via ${via}`, via, { downloaded: missing }));
          }
        }
        const [one, all] = [median(walls.files).wallSeconds, median(walls.bundle).wallSeconds];
        sweep.push([String(missing), `${one.toFixed(2)} s`, `${all.toFixed(2)} s`, `${(all / one).toFixed(2)}x`]);
      }
      console.log(`\n${formatTable(sweep)}`);
    }
  } finally {
    server?.kill("SIGTERM");
    await rm(work, { recursive: true, force: true });
  }
}

await main(process.argv.slice(2));
