// Benchmark (`make bench`): a real Debian debug kernel package -> verified BTF. btfmill's per-kernel
// path (pipeline/process-kernel.ts produceBtf: streaming fetch, pahole started as soon as the
// vmlinux is out, validation) against the baseline BTFHub uses (download the whole .deb to disk,
// then `dpkg-deb --fsys-tarfile | tar -x`, then pahole), then the decompressor candidates on the
// package's real data.tar.xz. Prints issue 9's item 1 (wall time) and item 3 (memory, disk).
//
//   node test/bench/one-kernel.ts [--quick] [--runs=N] [package-url]   (Node 24: make bench)
//
// Without a URL it asks this machine's apt sources (the mirror is read at run time, never written
// down) for the newest signed linux-image-*-cloud-amd64-dbg of Debian 12, main or security.
// --quick skips the decompressor comparison; --runs=N runs every candidate N times, in turns, and
// reports the median (the machine may be shared: the load average is printed before and after).
// Each run downloads the package twice (btfmill, baseline). Scratch space is .bench/ in the
// repository, removed at the end. Each candidate runs as its own process, measured by
// test/bench/measure.ts, with the V8 flags bin/btfmill.js gives itself.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { loadavg } from "node:os";
import { basename, join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { DebianSource, parseDebianKernelPackage } from "../../distros/debian.ts";
import { createDecompressor } from "../../distros/packages/decompress.ts";
import { spawnEngine } from "../../distros/packages/child-engine.ts";
import { RelayDuplex } from "../../distros/packages/relay-duplex.ts";
import type { KernelPackage } from "../../distros/types.ts";
import { btfMemberName } from "../../archive/layout.ts";
import { nodeFlags } from "../../pipeline/node-flags.ts";
import { produceBtf } from "../../pipeline/process-kernel.ts";
import { chooseFlags, kernelVersionOf } from "../../pipeline/pahole-flags.ts";
import { freeCores } from "../../pipeline/tools/pahole.ts";
import { benchPahole, paholePeakRss } from "./pinned-pahole.ts";
import { combine, formatMeasurements, formatTable, measureCommand, median } from "./measure.ts";
import type { Measurement } from "./measure.ts";

const self = fileURLToPath(import.meta.url);
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

// The candidates that must run in a process of their own, started by the main run below.
const workers: Record<string, (args: string[]) => Promise<unknown>> = {
  async btf([pkgJson, dir]) {
    const pkg = JSON.parse(pkgJson!) as KernelPackage;
    const { fetched, validation } = await produceBtf(pkg, dir!, {
      pahole: (await benchPahole()).version,
      paholeConfig: {},
      onStage: () => {},
    });
    return { ...fetched, kernelHasBtf: validation.kernelHasBtf };
  },
  async decode([file]) {
    return { bytes: await drain(file!, createDecompressor(basename(file!), { package: file! })) };
  },
  async "decode-zstd-cli"([file]) {
    const engine = spawnEngine(
      "zstd",
      ["-dc"],
      { package: file! },
      (exit) => new Error(`zstd failed: ${exit.stderrTail}`),
    );
    return { bytes: await drain(file!, new RelayDuplex(engine)) };
  },
};

async function drain(file: string, decoder: NodeJS.ReadWriteStream): Promise<number> {
  let bytes = 0;
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback();
    },
  });
  await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), decoder, sink);
  return bytes;
}

async function newestCloudKernel(): Promise<KernelPackage> {
  const source = new DebianSource({
    distro: "debian",
    release: "12",
    arch: "x86_64",
    flavors: ["cloud-amd64"],
    latest: 1,
  });
  const [newest] = await source.discover();
  if (newest === undefined) throw new Error("the apt sources list no cloud-amd64 -dbg kernel");
  return newest;
}

// A package named by URL only: its size and sha256 are taken from the baseline's download.
function packageFromUrl(url: string): Omit<KernelPackage, "sha256" | "size"> {
  const name = basename(new URL(url).pathname).split("_")[0]!;
  const parsed = parseDebianKernelPackage(name);
  if (parsed === undefined) throw new Error(`${name} is not a Debian linux-image-*-dbg package`);
  return {
    key: { distro: "debian", release: "12", arch: "x86_64", kernel: parsed.kernel },
    flavor: parsed.flavor,
    name,
    version: decodeURIComponent(basename(new URL(url).pathname).split("_")[1] ?? ""),
    url,
    format: "deb",
    vmlinuxPath: `usr/lib/debug/boot/vmlinux-${parsed.kernel}`,
    origin: "command line",
  };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest("hex");
}

const node = process.execPath;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");

async function runBtfmill(pkg: KernelPackage, dir: string): Promise<{ row: Measurement; vmlinuxBytes: number }> {
  await mkdir(dir, { recursive: true });
  const row = await measureCommand(
    "btfmill fetch -> vmlinux -> verified BTF",
    [node, ...nodeFlags, self, "--worker", "btf", JSON.stringify(pkg), dir],
    { diskDir: dir },
  );
  const result = JSON.parse(row.stdout) as { vmlinuxBytes: number; payloadBytes: number; downloadedBytes: number };
  console.log(
    `  ${row.label}: ${row.wallSeconds.toFixed(2)} s, vmlinux ${mb(result.vmlinuxBytes)}, decoded ${mb(result.payloadBytes)} of the payload, downloaded ${mb(result.downloadedBytes)}`,
  );
  return { row, vmlinuxBytes: result.vmlinuxBytes };
}

async function runBaseline(url: string, vmlinuxPath: string, dir: string): Promise<Measurement[]> {
  await mkdir(dir, { recursive: true });
  const download = await measureCommand(
    "baseline 1/3: download the .deb (curl)",
    ["curl", "-sS", "--fail", "-o", "pkg.deb", url],
    {
      cwd: dir,
      diskDir: dir,
    },
  );
  const extract = await measureCommand(
    "baseline 2/3: dpkg-deb --fsys-tarfile | tar -x",
    ["sh", "-c", 'dpkg-deb --fsys-tarfile pkg.deb | tar -x "./$1"', "sh", vmlinuxPath],
    { cwd: dir, diskDir: dir },
  );
  // The same pahole binary and flags btfmill uses for this kernel, without -j, as BTFHub runs it.
  const pahole = await benchPahole();
  const flags = chooseFlags(pahole.version, kernelVersionOf(basename(vmlinuxPath).replace(/^vmlinux-/, ""))!);
  const convert = await measureCommand(
    "baseline 3/3: pahole",
    [...pahole.argv, ...flags, "--btf_encode_detached=vmlinux.btf", vmlinuxPath],
    {
      cwd: dir,
      diskDir: dir,
    },
  );
  console.log(`  baseline: ${(download.wallSeconds + extract.wallSeconds + convert.wallSeconds).toFixed(2)} s`);
  return [download, extract, convert];
}

// The floor's pahole: the same binary and flags at the thread count btfmill would pick now.
async function runFloorPahole(vmlinux: string, dir: string): Promise<Measurement> {
  const pahole = await benchPahole();
  const flags = chooseFlags(pahole.version, kernelVersionOf(basename(vmlinux).replace(/^vmlinux-/, ""))!);
  const threads = freeCores();
  return measureCommand(
    `floor: pahole -j${threads}`,
    [...pahole.argv, ...(threads > 1 ? [`-j${threads}`] : []), ...flags, "--btf_encode_detached=floor.btf", vmlinux],
    { cwd: dir },
  );
}

// The work no tool can skip: decoding the payload up to the end of the vmlinux, with both cores
// (xz -T2 on the package's multi-block data.tar.xz; GNU tar's --occurrence=1 stops at the member,
// so xz stops there too). With the baseline's pahole run it is the floor of item 1.
async function runFloorDecode(deb: string, vmlinuxPath: string, dir: string): Promise<Measurement> {
  await mkdir(dir, { recursive: true });
  return measureCommand(
    "floor: decode up to the vmlinux (xz -T2)",
    ["sh", "-c", 'ar p "$1" data.tar.xz | xz -dc -T2 | tar -x --occurrence=1 "./$2"', "sh", deb, vmlinuxPath],
    { cwd: dir },
  );
}

async function main(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const runsArg = args.find((arg) => arg.startsWith("--runs="));
  const runs = runsArg === undefined ? 1 : Number(runsArg.slice("--runs=".length));
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`${runsArg}: the number of runs must be a positive integer`);
  const url = args.find((arg) => !arg.startsWith("--"));
  const work = join(repoRoot, ".bench", `extract-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    let pkg: KernelPackage;
    if (url === undefined) {
      pkg = await newestCloudKernel();
    } else {
      const named = packageFromUrl(url);
      const probe = join(work, "probe");
      await runBaseline(url, named.vmlinuxPath, probe);
      const deb = join(probe, "pkg.deb");
      pkg = { ...named, size: (await stat(deb)).size, sha256: await sha256File(deb) };
      await rm(probe, { recursive: true, force: true });
    }
    console.log(
      `package: ${pkg.name} ${pkg.version} (${mb(pkg.size)}, ${pkg.origin}); ${runs} run(s); load average ${load()}`,
    );
    const oursRuns: Measurement[] = [];
    const download: Measurement[] = [];
    const extract: Measurement[] = [];
    const convert: Measurement[] = [];
    const floorDecode: Measurement[] = [];
    const floorConvert: Measurement[] = [];
    let vmlinuxBytes = 0;
    // Candidates take turns, so a busy moment on a shared machine hits all of them alike.
    for (let run = 1; run <= runs; run++) {
      const last = run === runs;
      await rm(join(work, "run"), { recursive: true, force: true });
      const ours = await runBtfmill(pkg, join(work, "run", "btfmill"));
      oursRuns.push(ours.row);
      vmlinuxBytes = ours.vmlinuxBytes;
      const [fetched, extracted, converted] = await runBaseline(
        pkg.url,
        pkg.vmlinuxPath,
        join(work, "run", "baseline"),
      );
      download.push(fetched!);
      extract.push(extracted!);
      convert.push(converted!);
      floorDecode.push(
        await runFloorDecode(join(work, "run", "baseline", "pkg.deb"), pkg.vmlinuxPath, join(work, "run", "floor")),
      );
      floorConvert.push(
        await runFloorPahole(join(work, "run", "baseline", pkg.vmlinuxPath), join(work, "run", "floor")),
      );
      if (last) {
        const ours = await sha256File(join(work, "run", "btfmill", btfMemberName(pkg.key)));
        const theirs = await sha256File(join(work, "run", "baseline", "vmlinux.btf"));
        console.log(`  same BTF from both: ${ours === theirs} (sha256 ${ours})`);
      }
    }
    const byTotal = download.map((step, index) =>
      combine("baseline total (BTFHub's way)", [step, extract[index]!, convert[index]!]),
    );
    const baseline = median(byTotal);
    const ours = median(oursRuns);
    const floor = median(
      floorDecode.map((step, index) =>
        combine("floor: decode up to the vmlinux (xz -T2) + pahole at btfmill's threads", [step, floorConvert[index]!]),
      ),
    );
    console.log(
      `\n${formatMeasurements([ours, median(download), median(extract), median(convert), baseline, median(floorDecode), floor])}\n`,
    );
    const cpu = (row: Measurement) => row.userSeconds + row.systemSeconds;
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    const paholePeak = (row: Measurement) => paholePeakRss(row.peakRssByCommand);
    console.log(`item 1, one kernel (${pkg.name}; load average now ${load()}):\n`);
    console.log(
      formatTable([
        ["", "btfmill", "baseline", "btfmill / baseline", "target"],
        [
          "wall",
          `${ours.wallSeconds.toFixed(2)} s`,
          `${baseline.wallSeconds.toFixed(2)} s`,
          ratio(ours.wallSeconds, baseline.wallSeconds),
          "<= 0.55x",
        ],
        [
          "CPU (user+sys)",
          `${cpu(ours).toFixed(2)} s`,
          `${cpu(baseline).toFixed(2)} s`,
          ratio(cpu(ours), cpu(baseline)),
          "",
        ],
        [
          "floor: decode to the vmlinux + pahole",
          `${floor.wallSeconds.toFixed(2)} s`,
          "",
          ratio(floor.wallSeconds, baseline.wallSeconds),
          "",
        ],
        ["btfmill / floor", ratio(ours.wallSeconds, floor.wallSeconds), "", "", "<= 1.10x"],
      ]),
    );
    console.log(`\nitem 3, memory and disk (vmlinux ${mb(vmlinuxBytes)}):\n`);
    console.log(
      formatTable([
        ["", "btfmill", "baseline", "btfmill / baseline", "target"],
        ["peak RSS, btfmill process (node)", mb(ours.peakRssByCommand.node ?? 0), "-", "", "< 250 MB"],
        [
          "peak RSS, pahole",
          mb(paholePeak(ours)),
          mb(paholePeak(baseline)),
          ratio(paholePeak(ours), paholePeak(baseline)),
          "reported",
        ],
        [
          "peak RSS, whole process tree",
          mb(ours.peakTreeRssBytes),
          mb(baseline.peakTreeRssBytes),
          ratio(ours.peakTreeRssBytes, baseline.peakTreeRssBytes),
          "",
        ],
        [
          "peak temporary disk",
          mb(ours.peakDiskBytes),
          mb(baseline.peakDiskBytes),
          ratio(ours.peakDiskBytes, baseline.peakDiskBytes),
          `<= ${mb(vmlinuxBytes * 1.05)} (vmlinux + 5%): ${ours.peakDiskBytes <= vmlinuxBytes * 1.05 ? "met" : "missed"}`,
        ],
      ]),
    );
    if (!quick) await compareDecoders(join(work, "run", "baseline", "pkg.deb"), join(work, "decoders"), runs);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// Whole-stream decoding of the real payload: the numbers behind distros/packages/decompress.ts.
async function compareDecoders(deb: string, dir: string, runs: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const xz = join(dir, "data.tar.xz");
  const zst = join(dir, "data.tar.zst");
  await execa("sh", ["-c", 'ar p "$1" data.tar.xz > "$2"', "sh", deb, xz]);
  const toNull = (command: string) => ["sh", "-c", `${command} "$1" > /dev/null`, "sh"];
  // Ubuntu's payloads are zstd: the same tar at dpkg-deb's default level 3, to compare the two zstd decoders.
  await execa("sh", ["-c", 'xz -dc -T2 "$1" | zstd -q -3 -T2 -o "$2"', "sh", xz, zst]);
  const candidates: Array<[string, string[]]> = [
    ["xz -dc -T1 > /dev/null", [...toNull("xz -dc -T1"), xz]],
    ["xz -dc -T2 > /dev/null", [...toNull("xz -dc -T2"), xz]],
    ["btfmill decompressor (xz -T2 through node)", [node, ...nodeFlags, self, "--worker", "decode", xz]],
    ["zstd -dc > /dev/null", [...toNull("zstd -dc"), zst]],
    ["zstd -dc through node", [node, ...nodeFlags, self, "--worker", "decode-zstd-cli", zst]],
    ["btfmill decompressor (node zlib zstd)", [node, ...nodeFlags, self, "--worker", "decode", zst]],
  ];
  const results = candidates.map((): Measurement[] => []);
  for (let run = 0; run < runs; run++) {
    for (const [index, [label, argv]] of candidates.entries()) results[index]!.push(await measureCommand(label, argv));
  }
  const rows = results.map((measured) => median(measured));
  console.log(`\ndecoding the whole payload (${mb((await stat(xz)).size)} xz, ${mb((await stat(zst)).size)} zstd):\n`);
  console.log(formatMeasurements(rows));
}

const [flag, name, ...rest] = process.argv.slice(2);
if (flag === "--worker") {
  const worker = workers[name!];
  if (worker === undefined) throw new Error(`unknown worker ${name}`);
  console.log(JSON.stringify(await worker(rest)));
} else {
  await main(process.argv.slice(2));
}
