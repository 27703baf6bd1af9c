// What every command is: its options and help (in its *-options.ts, loaded for --help), and what
// it gets from the CLI when it runs (parsed options, typed by those options, and where to write).
import type { parseArgs, ParseArgsConfig } from "node:util";

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** How the CLI parses every command's arguments: strict, with positionals. */
export interface ParseConfig<O extends Options> {
  args: string[];
  options: O;
  allowPositionals: true;
  strict: true;
}

/** The values parseArgs gives for options O: a string, boolean or string[] per option, each optional. */
export type OptionValues<O extends Options> = ReturnType<typeof parseArgs<ParseConfig<O>>>["values"];

/** A command as `btfmill --help` and `btfmill <command> --help` show it, without its code. */
export interface CommandSpec<O extends Options> {
  name: string;
  summary: string;
  usage: string;
  options: O;
}

/** When a command's options are declared: keeps each option's literal type, so its values are typed. */
export function commandSpec<const O extends Options>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

export interface CommandContext<O extends Options> {
  values: OptionValues<O>;
  positionals: string[];
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}
