// Errors every folder raises. Callers branch on the class; the message says what failed and
// `hint` says what the user can do about it. Each layer wraps with `cause` to add where.

export interface ErrorContext {
  /** `<distro>/<release>/<arch>/<kernel>` when the error concerns one kernel. */
  kernel?: string;
  /** Package file name or URL when the error concerns one package. */
  package?: string;
  hint?: string;
  cause?: unknown;
}

export class BtfmillError extends Error {
  readonly kernel: string | undefined;
  readonly package: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.kernel = context.kernel;
    this.package = context.package;
    this.hint = context.hint;
  }

  /** One line for logs and the manifest's `reason`: what, where, and what to do. */
  describe(): string {
    const where = [this.kernel, this.package].filter(Boolean).join(", ");
    return `${this.name}: ${this.message}${where ? ` [${where}]` : ""}${this.hint ? ` (${this.hint})` : ""}`;
  }
}

/** The config file or a command-line option is wrong. */
export class ConfigError extends BtfmillError {}

/** A download or an index could not be read over the network. */
export class FetchError extends BtfmillError {}

/** Bytes did not match the checksum or signature that vouches for them. */
export class IntegrityError extends BtfmillError {}

/** Input is not in the format it claims (ar, tar, Packages, BTF, ELF, ...). */
export class FormatError extends BtfmillError {}

/** The package is well-formed but holds no vmlinux: a recorded skip, not a crash. */
export class VmlinuxNotFoundError extends BtfmillError {}

/** An external tool (pahole, bpftool, gpgv, xz) failed. */
export class ToolError extends BtfmillError {
  readonly tool: string;
  readonly exitCode: number | undefined;
  readonly stderrTail: string;

  constructor(tool: string, message: string, details: ErrorContext & { exitCode?: number; stderrTail?: string }) {
    super(`${tool}: ${message}`, details);
    this.tool = tool;
    this.exitCode = details.exitCode;
    this.stderrTail = details.stderrTail ?? "";
  }
}

/** Formats any thrown value for a log line or a manifest reason. */
export function describeError(error: unknown): string {
  if (error instanceof BtfmillError) return error.describe();
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
