// Runs an unpacked toolchain's tools through its own loader and asks their versions, so an install
// is accepted only once its pahole and bpftool start and are at least the pinned versions.
import { join } from "node:path";
import { FormatError, IntegrityError } from "../../archive/errors.ts";
import { runTool } from "../../archive/tools/run-tool.ts";
import type { ToolCommand } from "../../archive/tools/tool-command.ts";
import { pinnedHost, pinnedTools, type PinnedTool } from "./pins.ts";

const reinstall = "remove the toolchain folder and run `btfmill toolchain` again";

/** When a tool of the toolchain at `root` is started: the loader command that runs it with the toolchain's own libraries. */
export function toolchainCommand(root: string, tool: PinnedTool): ToolCommand {
  const host = pinnedHost();
  const libDir = join(root, host.libDir);
  return { file: join(libDir, host.loader), prefix: ["--library-path", libDir, join(root, pinnedTools[tool].binary)] };
}

/**
 * When an install is checked, or a run starts: each tool's version line and package. A ToolError
 * (toolFailure's) when one does not start; a FormatError when it prints no version; an
 * IntegrityError when it is older than the pin its package was chosen by.
 */
export async function probeToolchain(root: string): Promise<Record<PinnedTool, { version: string; package: string }>> {
  const probe = async (tool: PinnedTool, args: string[]) => {
    const pin = pinnedTools[tool];
    const stdout = await runTool(tool, args, {
      command: toolchainCommand(root, tool),
      timeoutMs: 10_000,
      doing: `starting from the toolchain at ${root}`,
      hint: reinstall,
    });
    const line = stdout.split("\n")[0]?.trim() ?? "";
    const match = /v?(\d+)\.(\d+)/.exec(line);
    if (match === null) {
      throw new FormatError(`the toolchain's ${tool} at ${root} printed "${line}", not a version`, {
        package: pin.package,
        hint: reinstall,
      });
    }
    if (Number(match[1]) * 1000 + Number(match[2]) < pin.minimum.major * 1000 + pin.minimum.minor) {
      throw new IntegrityError(
        `the toolchain's ${tool} is ${line}, below the pinned ${pin.minimum.major}.${pin.minimum.minor}`,
        { package: pin.package, hint: "run `btfmill toolchain` again" },
      );
    }
    return { version: line, package: pin.package };
  };
  return { pahole: await probe("pahole", ["--version"]), bpftool: await probe("bpftool", ["version"]) };
}
