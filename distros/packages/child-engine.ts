// A decoding tool run as a child process (`xz -dc`): stdin in, stdout out, and an exit status that
// `classify` turns into the error to surface. Stopping kills it and waits for it to be reaped.
import { spawn } from "node:child_process";
import { toolFailure } from "../../archive/tools/run-tool.ts";
import type { DecodeEngine } from "./relay-duplex.ts";

const stderrLimit = 4096;

export interface ChildExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what the tool printed on stderr, trimmed. */
  stderrTail: string;
}

/** When a decompressor needs an external tool: spawns it; `classify` names the failure of a non-zero exit. */
export function spawnEngine(
  command: string,
  args: readonly string[],
  context: { package: string },
  classify: (exit: ChildExit) => Error,
): DecodeEngine {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderrTail = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    stderrTail = (stderrTail + text).slice(-stderrLimit);
  });
  let stopping = false;
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>(
    (resolve) => {
      child.once("error", (spawnError) => resolve({ exitCode: null, signal: null, spawnError }));
      child.once("close", (exitCode, signal) => resolve({ exitCode, signal }));
    },
  );
  const done = exited.then(({ exitCode, signal, spawnError }) => {
    if (spawnError) {
      throw toolFailure(
        command,
        { timedOut: false, cancelled: false, stderr: "", spawnError: spawnError.message, cause: spawnError },
        { package: context.package, hint: `install ${command}`, notStarted: (why) => `cannot run: ${why}` },
      );
    }
    if (stopping || exitCode === 0) return;
    throw classify({ exitCode, signal, stderrTail: stderrTail.trim() });
  });
  return {
    input: child.stdin,
    output: child.stdout,
    done,
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      child.stdin.destroy();
      child.stdout.destroy();
      await exited;
    },
  };
}
