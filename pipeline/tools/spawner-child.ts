// The process spawner.ts talks to: it starts the tools it is asked for and says how each ended.
// It imports nothing but node itself, so it stays small (~45 MB) and each fork of a tool copies
// few page tables. Requests and replies are JSON lines on stdin and stdout; stdin's end stops it.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { createInterface } from "node:readline";

interface Request {
  id: number;
  /** Stop the run `id` started (its caller was cancelled). */
  cancel?: boolean;
  file?: string;
  args?: string[];
  timeoutMs?: number;
  /** A file to create for the tool's stdout (a decoder's output); otherwise stdout is discarded. */
  stdoutFile?: string;
}

const stderrLimit = 4096;
// After the timeout, SIGTERM; a tool that ignores it gets SIGKILL this much later.
const killGraceMs = 2000;
const running = new Map<number, { child: ChildProcess; cancelled: boolean }>();

function reply(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function start(id: number, file: string, args: string[], timeoutMs: number, stdoutFile: string | undefined): void {
  let stdout: number | undefined;
  try {
    // "wx": a leftover of an earlier run is never appended to or followed through a link.
    if (stdoutFile !== undefined) stdout = openSync(stdoutFile, "wx");
  } catch (error) {
    reply({ id, timedOut: false, cancelled: false, stderr: "", spawnError: (error as Error).message });
    return;
  }
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: ["ignore", stdout ?? "ignore", "pipe"] });
  } finally {
    // The tool holds its own copy of the descriptor.
    if (stdout !== undefined) closeSync(stdout);
  }
  const run = { child, cancelled: false };
  running.set(id, run);
  let stderr = "";
  let timedOut = false;
  let settled = false;
  child.stderr!.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-stderrLimit);
  });
  const stop = () => {
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), killGraceMs).unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, timeoutMs);
  const finish = (message: object) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    running.delete(id);
    reply({ id, timedOut, cancelled: run.cancelled, stderr, ...message });
  };
  child.once("error", (error) => finish({ spawnError: error.message }));
  child.once("close", (exitCode, signal) => finish({ exitCode: exitCode ?? undefined, signal: signal ?? undefined }));
}

createInterface({ input: process.stdin }).on("line", (line) => {
  const request = JSON.parse(line) as Request;
  const run = running.get(request.id);
  if (request.cancel) {
    if (run !== undefined) {
      run.cancelled = true;
      run.child.kill("SIGTERM");
    }
    return;
  }
  start(request.id, request.file!, request.args ?? [], request.timeoutMs!, request.stdoutFile);
});

process.stdin.once("end", () => {
  for (const run of running.values()) run.child.kill("SIGTERM");
});
