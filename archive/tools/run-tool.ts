// One way to run an external tool: bounded output, a timeout, and a ToolError that carries the
// exit code and the end of stderr so the failure can be fixed from the log alone.
import { execa } from "execa";
import { ConfigError, ToolError } from "../errors.ts";
import { toolInvocation, type ToolCommand } from "./tool-command.ts";

export interface RunToolOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Send stdout nowhere: for tools whose output is large and only the exit code matters. */
  discardStdout?: boolean;
  /** Return stderr interleaved after stdout: for libbpf debug logs (`bpftool -d`), which go to stderr. */
  withStderr?: boolean;
  kernel?: string;
  hint?: string;
  /** What the tool was doing, said after how it ended (`decoding data.tar.xz`). */
  doing?: string;
  /** Start this command instead of the run's selection: for checking a toolchain before it is selected. */
  command?: ToolCommand;
}

const maxBuffer = 16 * 1024 * 1024;

/**
 * When a tool wrapper picks its timeout: `fallbackMs`, or the milliseconds the environment
 * variable `name` gives. The variables (BTFMILL_PAHOLE_TIMEOUT_MS, BTFMILL_BPFTOOL_TIMEOUT_MS)
 * let a host with huge kernels wait longer, and let tests see a hung tool end in a second.
 */
export function timeoutFromEnv(name: string, fallbackMs: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallbackMs;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${name}=${JSON.stringify(text)} is not a positive whole number of milliseconds`, {
      hint: `unset ${name} for the default of ${fallbackMs} ms`,
    });
  }
  return value;
}

/** When a stage calls pahole, bpftool, gpgv or xz and wants stdout, or a ToolError. */
export async function runTool(tool: string, args: readonly string[], options: RunToolOptions = {}): Promise<string> {
  const invocation =
    options.command === undefined
      ? toolInvocation(tool, args)
      : { file: options.command.file, args: [...options.command.prefix, ...args] };
  const result = await execa(invocation.file, invocation.args, {
    reject: false,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    maxBuffer,
    stdin: "ignore",
    stdout: options.discardStdout ? "ignore" : "pipe",
    encoding: "utf8",
    all: options.withStderr ?? false,
  });
  if (result.failed) {
    throw toolFailure(
      tool,
      {
        timedOut: result.timedOut,
        cancelled: result.isCanceled,
        signal: result.signal,
        exitCode: result.exitCode,
        stderr: String(result.stderr ?? ""),
        spawnError:
          result.exitCode === undefined && result.signal === undefined && !result.timedOut && !result.isCanceled
            ? result.cause instanceof Error
              ? result.cause.message
              : result.shortMessage
            : undefined,
        overflowBytes: result.isMaxBuffer ? maxBuffer : undefined,
        cause: result.cause,
      },
      options,
    );
  }
  return String((options.withStderr ? result.all : result.stdout) ?? "");
}

/** How a tool run ended when it did not succeed, whoever started it (execa here, spawner.ts, gpgv.ts, child-engine.ts). */
export interface ToolOutcome {
  timedOut: boolean;
  cancelled: boolean;
  signal?: string | undefined;
  exitCode?: number | undefined;
  stderr: string;
  /** Set when the tool could not be started at all (not installed). */
  spawnError?: string | undefined;
  /** Set when the tool was stopped for printing more than this many bytes. */
  overflowBytes?: number | undefined;
  /** Set when what ran the tool (spawner.ts's helper process) went away before it reported. */
  runnerLost?: string | undefined;
  cause?: unknown;
}

/** What a ToolError names besides the tool: the kernel or package concerned, the advice, and the words for a tool that did not start. */
export interface ToolFailureContext extends Pick<RunToolOptions, "timeoutMs" | "kernel" | "hint" | "doing"> {
  package?: string;
  /** How to say the tool could not be started, where a caller's messages word it their own way (default: `could not run (<why>)`). */
  notStarted?: (why: string) => string;
}

/** When a tool run failed: the ToolError that says how, with the end of its stderr. */
export function toolFailure(tool: string, outcome: ToolOutcome, options: ToolFailureContext): ToolError {
  const stderrTail = outcome.stderr.slice(-2000).trim();
  const notStarted = options.notStarted ?? ((why: string) => `could not run (${why})`);
  const what =
    outcome.runnerLost !== undefined
      ? outcome.runnerLost
      : outcome.overflowBytes !== undefined
        ? `printed more than ${outcome.overflowBytes} bytes`
        : outcome.timedOut
          ? `timed out after ${options.timeoutMs} ms`
          : outcome.cancelled
            ? "was cancelled"
            : outcome.signal !== undefined
              ? `was killed by ${outcome.signal}`
              : outcome.spawnError !== undefined
                ? notStarted(outcome.spawnError)
                : `exited with ${outcome.exitCode}`;
  const during = options.doing === undefined ? "" : ` ${options.doing}`;
  return new ToolError(
    tool,
    `${what}${during}${stderrTail ? `: ${stderrTail.split("\n").slice(-3).join(" | ")}` : ""}`,
    {
      exitCode: outcome.exitCode,
      stderrTail,
      kernel: options.kernel,
      package: options.package,
      hint: options.hint ?? (outcome.spawnError !== undefined ? `install ${tool} (make setup)` : undefined),
      cause: outcome.cause,
    },
  );
}
