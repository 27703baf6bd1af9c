// `btfmill <command> [options]`: argument parsing and exit codes; each command's options and help
// are in commands/<command>-options.ts, its work in commands/<command>-command.ts.
import { parseArgs } from "node:util";
import { BtfmillError, describeError } from "../archive/errors.ts";
import { coverageSpec } from "./commands/coverage-options.ts";
import type { CommandContext, CommandSpec, Options, ParseConfig } from "./commands/context.ts";
import { genSpec } from "./commands/gen-options.ts";
import { listSpec } from "./commands/list-options.ts";
import { lookupSpec } from "./commands/lookup-options.ts";
import { mergeSpec } from "./commands/merge-options.ts";
import { planSpec } from "./commands/plan-options.ts";
import { publishSpec } from "./commands/publish-options.ts";
import { pullSpec } from "./commands/pull-options.ts";
import { releaseSpec } from "./commands/release-options.ts";
import { runSpec } from "./commands/run-options.ts";
import { serveSpec } from "./commands/serve-options.ts";
import { toolchainSpec } from "./commands/toolchain-options.ts";

type Write = (line: string) => void;

interface Command {
  spec: CommandSpec<Options>;
  /** Parses the arguments, then prints the help or loads and runs the command; throws what the command throws. */
  run: (args: string[], stdout: Write, stderr: Write) => Promise<number>;
}

// Each command's modules load when it runs: `pull` need not load what `run` needs (undici aside,
// the distro readers, zod schemas, send's MIME table), which is most of a start.
function command<const O extends Options>(
  spec: CommandSpec<O>,
  load: () => Promise<(context: CommandContext<O>) => Promise<number>>,
): Command {
  return {
    spec,
    run: async (args, stdout, stderr) => {
      let parsed;
      try {
        parsed = parseArgs<ParseConfig<O>>({ args, options: spec.options, allowPositionals: true, strict: true });
      } catch (error) {
        stderr(
          `btfmill ${spec.name}: ${error instanceof Error ? error.message : String(error)}\n\nusage: ${spec.usage}`,
        );
        return 2;
      }
      const { values, positionals } = parsed;
      if (Object.hasOwn(values, "help")) {
        stdout(`usage: ${spec.usage}`);
        return 0;
      }
      return (await load())({ values, positionals, stdout, stderr });
    },
  };
}

const commands: Command[] = [
  command(runSpec, async () => (await import("./commands/run-command.ts")).runCommand),
  command(toolchainSpec, async () => (await import("./commands/toolchain-command.ts")).toolchainCommand),
  command(planSpec, async () => (await import("./commands/plan-command.ts")).planCommand),
  command(mergeSpec, async () => (await import("./commands/merge-command.ts")).mergeCommand),
  command(coverageSpec, async () => (await import("./commands/coverage-command.ts")).coverageCommand),
  command(publishSpec, async () => (await import("./commands/publish-command.ts")).publishCommand),
  command(serveSpec, async () => (await import("./commands/serve-command.ts")).serveCommand),
  command(pullSpec, async () => (await import("./commands/pull-command.ts")).pullCommand),
  command(genSpec, async () => (await import("./commands/gen-command.ts")).genCommand),
  command(lookupSpec, async () => (await import("./commands/lookup-command.ts")).lookupCommand),
  command(listSpec, async () => (await import("./commands/list-command.ts")).listCommand),
  command(releaseSpec, async () => (await import("./commands/release-command.ts")).releaseCommand),
];

function mainUsage(): string {
  const lines = commands.map(({ spec }) => `  ${spec.name.padEnd(9)} ${spec.summary}`);
  return `usage: btfmill <command> [options]\n\ncommands:\n${lines.join("\n")}\n\n"btfmill <command> --help" for a command's options.`;
}

/** When the process starts: runs one command and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const stdout = (line: string): void => void process.stdout.write(`${line}\n`);
  const stderr = (line: string): void => void process.stderr.write(`${line}\n`);
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    stdout(mainUsage());
    return name === undefined ? 2 : 0;
  }
  const command = commands.find(({ spec }) => spec.name === name);
  if (!command) {
    stderr(`btfmill: unknown command "${name}"\n\n${mainUsage()}`);
    return 2;
  }
  try {
    return await command.run(rest, stdout, stderr);
  } catch (error) {
    stderr(`btfmill ${name}: ${error instanceof BtfmillError ? error.describe() : describeError(error)}`);
    return error instanceof BtfmillError && error.name === "ConfigError" ? 2 : 1;
  }
}
