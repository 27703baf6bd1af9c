// Benchmark (issue 9, items 2 and 3): a batch of real Debian debug kernel packages -> verified,
// archived BTF. `btfmill run` converting them with its bounded concurrency, against the baseline
// BTFHub uses, one kernel after the other (download the whole .deb to disk, `dpkg-deb
// --fsys-tarfile | tar -x`, pahole).
//
//   node test/bench/batch.ts [--runs=N] [--kernels=3]   (Node 24)
//
// The packages are the newest `--kernels` linux-image-*-cloud-amd64-dbg of Debian 12, from the
// mirror this machine's apt sources name (read at run time, never written down). They ship their
// own BTF, so the run's config says `kernelsWithBtf: "all"`: otherwise only the oldest of the
// flavor would be converted. Each run downloads every package twice (btfmill, baseline).
// --runs=N alternates the two N times and reports medians. Scratch space is .bench/ in the
// repository, removed at the end; each side runs as its own process, measured by measure.ts.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DebianSource } from "../../distros/debian.ts";
import type { KernelPackage } from "../../distros/types.ts";
import { keyPath } from "../../archive/kernel-key.ts";
import { scratchDir } from "../../archive/layout.ts";
import { readManifest } from "../../archive/state.ts";
import { chooseFlags, kernelVersionOf } from "../../pipeline/pahole-flags.ts";
import { benchPahole, paholePeakRss } from "./pinned-pahole.ts";
import { combine, countOption, formatMeasurements, formatTable, measureCommand, median } from "./measure.ts";
import type { Measurement } from "./measure.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(repoRoot, "bin", "btfmill.js");
const node = process.execPath;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
const cpu = (row: Measurement) => row.userSeconds + row.systemSeconds;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest("hex");
}

interface BaselineRun {
  total: Measurement;
  /** sha256 of each kernel's BTF, by kernel, to check both sides made the same bytes. */
  btf: Map<string, string>;
  vmlinuxBytes: Map<string, number>;
  /** CPU seconds no tool can skip: each kernel's decoding up to its vmlinux, and its pahole run. */
  floorCpuSeconds: number;
}

// BTFHub's way, one kernel after the other; each kernel's files are removed before the next, as
// a disk-conscious script would.
async function runBaseline(packages: KernelPackage[], dir: string): Promise<BaselineRun> {
  const steps: Measurement[] = [];
  const btf = new Map<string, string>();
  const vmlinuxBytes = new Map<string, number>();
  // The pahole btfmill's run uses, without -j, as BTFHub runs it.
  const pahole = await benchPahole();
  let floorCpuSeconds = 0;
  for (const pkg of packages) {
    await mkdir(dir, { recursive: true });
    const measured = { cwd: dir, diskDir: dir };
    steps.push(await measureCommand("download", ["curl", "-sS", "--fail", "-o", "pkg.deb", pkg.url], measured));
    steps.push(
      await measureCommand(
        "extract",
        ["sh", "-c", 'dpkg-deb --fsys-tarfile pkg.deb | tar -x "./$1"', "sh", pkg.vmlinuxPath],
        measured,
      ),
    );
    const flags = chooseFlags(pahole.version, kernelVersionOf(pkg.key.kernel)!);
    const converted = await measureCommand(
      "pahole",
      [...pahole.argv, ...flags, "--btf_encode_detached=vmlinux.btf", pkg.vmlinuxPath],
      measured,
    );
    steps.push(converted);
    // Outside the baseline's total: the decoding a tool must do, up to the vmlinux's end and no
    // further (tar --occurrence=1 stops there, so xz does too), single-threaded for its CPU alone.
    await mkdir(join(dir, "floor"));
    const decoded = await measureCommand(
      "floor decode",
      [
        "sh",
        "-c",
        'ar p "$1" data.tar.xz | xz -dc -T1 | tar -x -C floor --occurrence=1 "./$2"',
        "sh",
        "pkg.deb",
        pkg.vmlinuxPath,
      ],
      { cwd: dir },
    );
    floorCpuSeconds += cpu(decoded) + cpu(converted);
    btf.set(keyPath(pkg.key), await sha256File(join(dir, "vmlinux.btf")));
    vmlinuxBytes.set(keyPath(pkg.key), (await stat(join(dir, pkg.vmlinuxPath))).size);
    await rm(dir, { recursive: true, force: true });
  }
  const total = combine(`baseline: ${packages.length} kernels one after the other`, steps);
  console.log(`  baseline: ${total.wallSeconds.toFixed(2)} s`);
  return { total, btf, vmlinuxBytes, floorCpuSeconds };
}

interface BtfmillRun {
  row: Measurement;
  btf: Map<string, string>;
}

async function runBtfmill(kernels: number, dir: string): Promise<BtfmillRun> {
  await mkdir(dir, { recursive: true });
  const archive = join(dir, "archive");
  const config = join(dir, "btfmill.json");
  const source = {
    distro: "debian",
    release: "12",
    arch: "x86_64",
    flavors: ["cloud-amd64"],
    latest: kernels,
    kernelsWithBtf: "all",
  };
  await writeFile(config, JSON.stringify({ archive, sources: [source] }));
  await mkdir(scratchDir(archive), { recursive: true });
  const row = await measureCommand(
    `btfmill run: ${kernels} kernels`,
    [node, cli, "run", "--config", config, "--json"],
    {
      diskDir: archive,
      perFolderDir: scratchDir(archive),
    },
  );
  const summary = JSON.parse(row.stdout) as { ok: number; failed: { kernel: string; reason: string }[] };
  if (summary.ok !== kernels)
    throw new Error(`btfmill run converted ${summary.ok} of ${kernels} kernels: ${JSON.stringify(summary.failed)}`);
  const manifest = await readManifest(archive);
  const btf = new Map(Object.entries(manifest.kernels).map(([kernel, entry]) => [kernel, entry.btf?.sha256 ?? ""]));
  console.log(`  ${row.label}: ${row.wallSeconds.toFixed(2)} s`);
  await rm(dir, { recursive: true, force: true });
  return { row, btf };
}

async function main(args: string[]): Promise<void> {
  const runs = countOption(args, "runs", 1);
  const kernels = countOption(args, "kernels", 3);
  const source = new DebianSource({
    distro: "debian",
    release: "12",
    arch: "x86_64",
    flavors: ["cloud-amd64"],
    latest: kernels,
  });
  const packages = await source.discover();
  if (packages.length < kernels)
    throw new Error(`the apt sources list ${packages.length} cloud-amd64 -dbg kernels, not ${kernels}`);
  console.log(`packages: ${packages.map((pkg) => `${basename(pkg.name)} (${mb(pkg.size)})`).join(", ")}`);
  console.log(`${runs} run(s), ${cpus().length} CPUs, load average ${load()}`);
  const work = join(repoRoot, ".bench", `batch-${process.pid}`);
  const ours: Measurement[] = [];
  const theirs: Measurement[] = [];
  const floors: number[] = [];
  let vmlinuxBytes = new Map<string, number>();
  try {
    for (let run = 1; run <= runs; run++) {
      const btfmill = await runBtfmill(kernels, join(work, "btfmill"));
      const baseline = await runBaseline(packages, join(work, "baseline"));
      ours.push(btfmill.row);
      theirs.push(baseline.total);
      floors.push(baseline.floorCpuSeconds);
      vmlinuxBytes = baseline.vmlinuxBytes;
      const same = [...baseline.btf].every(([kernel, sha256]) => btfmill.btf.get(kernel) === sha256);
      console.log(`  same BTF bytes from both for all ${kernels} kernels: ${same}`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const btfmill = median(ours);
  const baseline = median(theirs);
  console.log(`\n${formatMeasurements([btfmill, baseline])}\n`);
  // Perfect packing of that CPU on every core, ignoring that one kernel's pahole cannot start
  // before its decoding ends and cannot use two cores: a bound below what any schedule reaches.
  const floorWall = [...floors].sort((a, b) => a - b)[floors.length >> 1]! / cpus().length;
  const busy = (row: Measurement) => `${(cpu(row) / row.wallSeconds).toFixed(2)} of ${cpus().length}`;
  console.log(`item 2, a batch of ${kernels} kernels (load average now ${load()}):\n`);
  console.log(
    formatTable([
      ["", "btfmill run", "baseline", "btfmill / baseline", "target"],
      [
        "wall",
        `${btfmill.wallSeconds.toFixed(2)} s`,
        `${baseline.wallSeconds.toFixed(2)} s`,
        ratio(btfmill.wallSeconds, baseline.wallSeconds),
        "<= 0.45x",
      ],
      [
        "CPU (user+sys)",
        `${cpu(btfmill).toFixed(2)} s`,
        `${cpu(baseline).toFixed(2)} s`,
        ratio(cpu(btfmill), cpu(baseline)),
        "",
      ],
      ["cores busy on average", busy(btfmill), busy(baseline), "", ""],
      [
        "floor: decode to each vmlinux + pahole, CPU / cores",
        `${floorWall.toFixed(2)} s`,
        "",
        ratio(floorWall, baseline.wallSeconds),
        "",
      ],
      ["btfmill / floor", ratio(btfmill.wallSeconds, floorWall), "", "", "<= 1.10x"],
    ]),
  );
  const largestVmlinux = Math.max(...vmlinuxBytes.values());
  const pahole = (row: Measurement) => paholePeakRss(row.peakRssByCommand);
  console.log(`\nitem 3, memory and disk (largest vmlinux ${mb(largestVmlinux)}):\n`);
  console.log(
    formatTable([
      ["", "btfmill run", "baseline", "target"],
      ["peak RSS, btfmill process (node)", mb(btfmill.peakRssByCommand.node ?? 0), "-", "< 250 MB"],
      ["peak RSS, one pahole", mb(pahole(btfmill)), mb(pahole(baseline)), "reported"],
      ["peak RSS, whole process tree", mb(btfmill.peakTreeRssBytes), mb(baseline.peakTreeRssBytes), ""],
      [
        "peak temporary disk, one kernel in flight",
        mb(btfmill.peakFolderDiskBytes),
        mb(baseline.peakDiskBytes),
        `<= ${mb(largestVmlinux * 1.05)} (vmlinux + 5%): ${btfmill.peakFolderDiskBytes <= largestVmlinux * 1.05 ? "met" : "missed"}`,
      ],
      ["peak disk, whole archive folder", mb(btfmill.peakDiskBytes), mb(baseline.peakDiskBytes), ""],
    ]),
  );
}

await main(process.argv.slice(2));
