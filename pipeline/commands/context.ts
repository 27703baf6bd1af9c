// What every command gets from the CLI: parsed options and where to write.
export interface CommandContext {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}
