// Starting the tools the minify pass runs thousands of times (bpftool, xz), through a small
// helper process (spawner-child.ts). Node starts a child by fork, which copies the parent's page
// tables, so a spawn costs more CPU the larger the process: from a run's btfmill, the forks of 4
// spawns per kernel were as much CPU as a bpftool run (docs/performance.md, "Measured without a
// bench"). The small helper forks for it. Output is not returned
// (these tools write files, or their stdout goes to one); failures come back as runTool's
// ToolErrors, word for word, from the same builder (toolFailure).
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { toolFailure, type RunToolOptions } from "../../archive/tools/run-tool.ts";
import { toolInvocation } from "../../archive/tools/tool-command.ts";

interface Reply {
  id: number;
  timedOut: boolean;
  cancelled: boolean;
  stderr: string;
  exitCode?: number;
  signal?: string;
  spawnError?: string;
}

interface Helper {
  child: ChildProcess;
  pending: Map<number, (reply: Reply) => void>;
}

const childScript = fileURLToPath(new URL("./spawner-child.ts", import.meta.url));
let helper: Helper | undefined;
let nextId = 1;

// Idle, the helper must not keep btfmill alive; busy, it must.
function holdOpen(current: Helper, busy: boolean): void {
  const handles = [current.child, current.child.stdin, current.child.stdout] as unknown as ({
    ref?(): void;
    unref?(): void;
  } | null)[];
  for (const handle of handles) {
    if (busy) handle?.ref?.();
    else handle?.unref?.();
  }
}

function startHelper(): Helper {
  const child = spawn(process.execPath, [childScript], { stdio: ["pipe", "pipe", "inherit"] });
  const current: Helper = { child, pending: new Map() };
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const reply = JSON.parse(line) as Reply;
    const settle = current.pending.get(reply.id);
    current.pending.delete(reply.id);
    if (current.pending.size === 0) holdOpen(current, false);
    settle?.(reply);
  });
  const lost = (reason: string) => {
    if (helper === current) helper = undefined;
    for (const settle of current.pending.values())
      settle({ id: 0, timedOut: false, cancelled: false, stderr: "", spawnError: `the spawner process ${reason}` });
    current.pending.clear();
  };
  child.once("error", (error) => lost(`could not start: ${error.message}`));
  child.once("exit", (code, signal) => lost(`exited (${signal ?? code})`));
  child.stdin!.on("error", () => {});
  return current;
}

/**
 * When a stage runs a tool whose output goes to files (bpftool gen min_core_btf, xz -dc) many
 * times: runs it to the end, or throws the ToolError runTool would. `stdoutFile`, created for it
 * (it must not exist), takes what the tool prints.
 */
export async function runFileTool(
  tool: string,
  args: readonly string[],
  options: RunToolOptions & { timeoutMs: number; stdoutFile?: string },
): Promise<void> {
  if (options.signal?.aborted) throw toolFailure(tool, { timedOut: false, cancelled: true, stderr: "" }, options);
  helper ??= startHelper();
  const current = helper;
  const id = nextId++;
  const cancel = () => current.child.stdin!.write(`${JSON.stringify({ id, cancel: true })}\n`);
  options.signal?.addEventListener("abort", cancel, { once: true });
  let reply: Reply;
  try {
    reply = await new Promise<Reply>((resolve) => {
      current.pending.set(id, resolve);
      holdOpen(current, true);
      const invocation = toolInvocation(tool, args);
      current.child.stdin!.write(
        `${JSON.stringify({ id, file: invocation.file, args: invocation.args, timeoutMs: options.timeoutMs, stdoutFile: options.stdoutFile })}\n`,
      );
    });
  } finally {
    options.signal?.removeEventListener("abort", cancel);
  }
  if (reply.exitCode === 0 && reply.signal === undefined && !reply.timedOut && !reply.cancelled) return;
  if (reply.id === 0)
    throw toolFailure(
      tool,
      { timedOut: false, cancelled: false, stderr: "", runnerLost: reply.spawnError ?? "the spawner process was lost" },
      { kernel: options.kernel },
    );
  throw toolFailure(tool, { ...reply, cancelled: reply.cancelled || options.signal?.aborted === true }, options);
}

/**
 * When a pass that ran many tools is over: ends the helper and waits for it, so it is reaped
 * (and its tools' CPU time counted as this process's children's) rather than left to exit alone.
 */
export async function stopSpawner(): Promise<void> {
  const current = helper;
  if (current === undefined) return;
  helper = undefined;
  const exited = new Promise<void>((resolve) => {
    if (current.child.exitCode !== null || current.child.signalCode !== null) resolve();
    else current.child.once("exit", () => resolve());
  });
  // Idle, the helper was unref'd: waiting for it must keep this process up.
  holdOpen(current, true);
  current.child.stdin!.end();
  await exited;
}
