// Measures one command the way a person sizing a machine wants it: wall time, CPU time of the
// command and every child it waited for, peak memory of each process and of the whole tree, and
// peak disk use in a folder. Run each candidate as its own command so the numbers do not mix.
//
// CPU and the largest single RSS come from getrusage through GNU time (`/usr/bin/time`); the
// whole-tree RSS and the disk use are sampled from /proc and the folder every `intervalMs`, so a
// peak shorter than that can be missed; each process's own peak is its VmHWM (the kernel's high
// water mark), exact as long as one sample sees the process alive.
import { spawn } from "node:child_process";
import { lstat, mkdtemp, readFile, readdir, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

export interface Measurement {
  label: string;
  wallSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  /** ru_maxrss of the largest single process (the command or a child it waited for). */
  maxRssBytes: number;
  /** Highest sum of RSS over the whole process tree at one sample. */
  peakTreeRssBytes: number;
  /** Highest RSS any one process of each command name reached (`node`, `xz`, `pahole`). */
  peakRssByCommand: Record<string, number>;
  /** Bytes the command and its waited-for children read from and wrote to block devices (GNU time's %I and %O; page-cache hits read nothing). */
  diskReadBytes: number;
  diskWrittenBytes: number;
  /** Highest allocated size of the watched folder, 0 without one. */
  peakDiskBytes: number;
  /** Highest allocated size of any one folder inside `perFolderDir` (a kernel's scratch folder), 0 without one. */
  peakFolderDiskBytes: number;
  stdout: string;
}

export interface MeasureOptions {
  cwd?: string;
  /** Folder whose disk use is sampled (the command's scratch space). */
  diskDir?: string;
  /** Folder whose subfolders' disk use is sampled one by one (the pipeline's per-kernel scratch folders). */
  perFolderDir?: string;
  intervalMs?: number;
}

/** When a benchmark runs one candidate: runs `argv` to completion and returns what it cost. */
export async function measureCommand(
  label: string,
  argv: readonly string[],
  options: MeasureOptions = {},
): Promise<Measurement> {
  const scratch = await mkdtemp(join(tmpdir(), "btfmill-measure-"));
  const timeFile = join(scratch, "time");
  const child = spawn("/usr/bin/time", ["-f", "%e %U %S %M %I %O", "-o", timeFile, "--", ...argv], {
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const peaks = { tree: 0, disk: 0, folder: 0, byCommand: {} as Record<string, number> };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      if (child.pid !== undefined) {
        // The tree below GNU time: time itself is the measuring tool, not the measured.
        const processes = (await processTree(child.pid)).filter((process) => process.pid !== child.pid);
        peaks.tree = Math.max(
          peaks.tree,
          processes.reduce((sum, process) => sum + process.rssBytes, 0),
        );
        for (const process of processes) {
          peaks.byCommand[process.command] = Math.max(peaks.byCommand[process.command] ?? 0, process.peakRssBytes);
        }
      }
      if (options.diskDir !== undefined) peaks.disk = Math.max(peaks.disk, await diskUsage(options.diskDir));
      if (options.perFolderDir !== undefined)
        peaks.folder = Math.max(peaks.folder, await largestFolder(options.perFolderDir));
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
    }
  })();
  try {
    const exitCode = await exited;
    if (exitCode !== 0) throw new Error(`${label}: ${argv.join(" ")} exited with ${exitCode}`);
    const [wall, user, system, maxRssKiB, inputBlocks, outputBlocks] = (await readFile(timeFile, "utf8"))
      .trim()
      .split("\n")
      .at(-1)!
      .split(" ")
      .map(Number);
    return {
      label,
      wallSeconds: wall!,
      userSeconds: user!,
      systemSeconds: system!,
      maxRssBytes: maxRssKiB! * 1024,
      // GNU time counts file system blocks of 512 bytes.
      diskReadBytes: inputBlocks! * 512,
      diskWrittenBytes: outputBlocks! * 512,
      peakTreeRssBytes: peaks.tree,
      peakRssByCommand: peaks.byCommand,
      peakDiskBytes: peaks.disk,
      peakFolderDiskBytes: peaks.folder,
      stdout,
    };
  } finally {
    sampling = false;
    await sampler;
    await rm(scratch, { recursive: true, force: true });
  }
}

/** When a candidate is several commands in a row: times and CPU add up, peaks are the highest. */
export function combine(label: string, steps: readonly Measurement[]): Measurement {
  const byCommand: Record<string, number> = {};
  for (const step of steps) {
    for (const [command, bytes] of Object.entries(step.peakRssByCommand))
      byCommand[command] = Math.max(byCommand[command] ?? 0, bytes);
  }
  const sum = (pick: (step: Measurement) => number) => steps.reduce((total, step) => total + pick(step), 0);
  const max = (pick: (step: Measurement) => number) => Math.max(0, ...steps.map(pick));
  return {
    label,
    wallSeconds: sum((step) => step.wallSeconds),
    userSeconds: sum((step) => step.userSeconds),
    systemSeconds: sum((step) => step.systemSeconds),
    maxRssBytes: max((step) => step.maxRssBytes),
    diskReadBytes: sum((step) => step.diskReadBytes),
    diskWrittenBytes: sum((step) => step.diskWrittenBytes),
    peakTreeRssBytes: max((step) => step.peakTreeRssBytes),
    peakRssByCommand: byCommand,
    peakDiskBytes: max((step) => step.peakDiskBytes),
    peakFolderDiskBytes: max((step) => step.peakFolderDiskBytes),
    stdout: "",
  };
}

/** When a candidate ran several times: the run with the median wall time, its label giving the spread. */
export function median(runs: readonly Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.wallSeconds - b.wallSeconds);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)]!;
  if (sorted.length === 1) return middle;
  const spread = `${sorted[0]!.wallSeconds.toFixed(1)}-${sorted.at(-1)!.wallSeconds.toFixed(1)} s`;
  return { ...middle, label: `${middle.label} [median of ${sorted.length}, wall ${spread}]` };
}

/** When results are printed: one aligned row per measurement. */
export function formatMeasurements(rows: readonly Measurement[]): string {
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
  const table = [
    ["", "wall", "CPU (user+sys)", "peak RSS tree", "largest process", "peak RSS by command", "peak disk"],
    ...rows.map((row) => [
      row.label,
      `${row.wallSeconds.toFixed(2)} s`,
      `${(row.userSeconds + row.systemSeconds).toFixed(2)} s`,
      mb(row.peakTreeRssBytes),
      mb(row.maxRssBytes),
      Object.entries(row.peakRssByCommand)
        .sort(([, a], [, b]) => b - a)
        .map(([command, bytes]) => `${command} ${mb(bytes)}`)
        .join(", "),
      row.peakDiskBytes === 0 ? "-" : mb(row.peakDiskBytes),
    ]),
  ];
  return formatTable(table);
}

/** When a summary is printed: rows of cells (the first row the header) as aligned columns. */
export function formatTable(table: readonly (readonly string[])[]): string {
  const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  return table
    .map((cells) =>
      cells
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

interface TreeProcess {
  pid: number;
  command: string;
  rssBytes: number;
  peakRssBytes: number;
}

// Walks /proc/<pid>/task/*/children down from `root`; processes that exit mid-walk are skipped.
async function processTree(root: number): Promise<TreeProcess[]> {
  const found: TreeProcess[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    try {
      const [status, tasks, exe] = await Promise.all([
        readFile(`/proc/${pid}/status`, "utf8"),
        readdir(`/proc/${pid}/task`),
        readlink(`/proc/${pid}/exe`),
      ]);
      // Named by executable: node calls its main thread "MainThread", and a child between fork and exec is still node.
      const kib = (field: string) => Number(new RegExp(`^${field}:\\s*(\\d+) kB$`, "m").exec(status)?.[1] ?? 0) * 1024;
      found.push({ pid, command: basename(exe), rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") });
      for (const task of tasks) {
        const children = await readFile(`/proc/${pid}/task/${task}/children`, "utf8").catch(() => "");
        pending.push(
          ...children
            .split(" ")
            .filter((word) => word !== "")
            .map(Number),
        );
      }
    } catch {
      // Gone, or a zombie whose exe can no longer be read: it holds no memory any more.
    }
  }
  return found;
}

async function largestFolder(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let largest = 0;
  for (const entry of entries) {
    if (entry.isDirectory()) largest = Math.max(largest, await diskUsage(join(dir, entry.name)));
  }
  return largest;
}

async function diskUsage(dir: string): Promise<number> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  let total = 0;
  for (const name of names) {
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) total += info.blocks * 512;
  }
  return total;
}

/** When a benchmark reads `--name=N` from its arguments: a positive integer, or `fallback` when absent. */
export function countOption(args: readonly string[], name: string, fallback: number): number {
  const arg = args.find((candidate) => candidate.startsWith(`--${name}=`));
  const value = arg === undefined ? fallback : Number(arg.slice(name.length + 3));
  if (!Number.isInteger(value) || value < 1) throw new Error(`${arg}: must be a positive integer`);
  return value;
}
