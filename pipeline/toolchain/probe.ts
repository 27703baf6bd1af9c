// Runs an unpacked toolchain's tools through its own loader and asks their versions, so an install
// is accepted only once its pahole and bpftool start and are at least the pinned versions.
import { join } from "node:path";
import { execa } from "execa";
import { ToolError } from "../../archive/errors.ts";
import type { ToolCommand } from "../../archive/tools/tool-command.ts";
import { hostTriplets, pinnedTools, type PinnedTool } from "./pins.ts";

/** When a tool of the toolchain at `root` is started: the loader command that runs it with the toolchain's own libraries. */
export function toolchainCommand(root: string, tool: PinnedTool): ToolCommand {
  const host = hostTriplets[process.arch];
  if (host === undefined) throw new ToolError(tool, `the pinned toolchain has no build for ${process.arch}`, {});
  const libDir = join(root, host.libDir);
  return { file: join(libDir, host.loader), prefix: ["--library-path", libDir, join(root, pinnedTools[tool].binary)] };
}

/** When an install is checked, or a run starts: each tool's version line and package; ToolError when one does not start or is too old. */
export async function probeToolchain(root: string): Promise<Record<PinnedTool, { version: string; package: string }>> {
  const probe = async (tool: PinnedTool, args: string[]) => {
    const command = toolchainCommand(root, tool);
    const result = await execa(command.file, [...command.prefix, ...args], {
      reject: false,
      timeout: 10_000,
      stdin: "ignore",
    });
    const line = String(result.stdout).split("\n")[0]?.trim() ?? "";
    const match = /v?(\d+)\.(\d+)/.exec(line);
    const pin = pinnedTools[tool];
    if (result.failed || match === null) {
      throw new ToolError(
        tool,
        `the toolchain's ${tool} at ${root} does not start: ${String(result.stderr).trim().slice(-500) || result.shortMessage}`,
        {
          hint: "remove the toolchain folder and run `btfmill toolchain` again",
        },
      );
    }
    if (Number(match[1]) * 1000 + Number(match[2]) < pin.minimum.major * 1000 + pin.minimum.minor) {
      throw new ToolError(
        tool,
        `the toolchain's ${tool} is ${line}, below the pinned ${pin.minimum.major}.${pin.minimum.minor}`,
        { hint: "run `btfmill toolchain` again" },
      );
    }
    return { version: line, package: pin.package };
  };
  return { pahole: await probe("pahole", ["--version"]), bpftool: await probe("bpftool", ["version"]) };
}
