// How pahole and bpftool are started: by default the tool of that name on PATH; once a run has
// selected the pinned toolchain (pipeline/toolchain/select.ts), through the loader of the glibc
// unpacked beside it, so the host's own libraries never mix in:
//   <root>/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path <root>/usr/lib/x86_64-linux-gnu <root>/usr/bin/pahole
export interface ToolCommand {
  /** The program to execute (a loader, or the tool itself). */
  file: string;
  /** Arguments before the tool's own (`--library-path DIR BINARY` for a loader). */
  prefix: readonly string[];
}

const selected = new Map<string, ToolCommand>();

/** When a run picks its tools: every later call of `tool` starts `command`. */
export function selectToolCommand(tool: string, command: ToolCommand): void {
  selected.set(tool, command);
}

/** When a test or a command is done with a selection: back to the tool on PATH. */
export function clearToolCommands(): void {
  selected.clear();
}

/** When a wrapper starts `tool`: the program and full argument list to execute. */
export function toolInvocation(tool: string, args: readonly string[]): { file: string; args: string[] } {
  const command = selected.get(tool);
  return command === undefined
    ? { file: tool, args: [...args] }
    : { file: command.file, args: [...command.prefix, ...args] };
}
