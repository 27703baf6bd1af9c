// Which pahole and bpftool a run uses: the pinned toolchain `btfmill toolchain` installed, unless
// the config names a host tool. Selected once per run, before the first kernel converts; every
// later pahole and bpftool call goes through the selection (archive/tools/tool-command.ts).
import type { ManifestEntry } from "../../archive/manifest.ts";
import type { ToolchainConfig, PaholeConfig } from "../config.ts";
import { ConfigError } from "../../archive/errors.ts";
import { bpftoolVersion } from "../tools/bpftool.ts";
import { paholeVersion, type ToolVersion } from "../tools/pahole.ts";
import { selectToolCommand } from "../../archive/tools/tool-command.ts";
import { readInstalled } from "./installed.ts";
import { reproducibleThreadsPahole } from "./pins.ts";
import { toolchainCommand } from "./probe.ts";

export interface SelectedTools {
  pahole: ToolVersion;
  bpftool: string;
  /** The manifest's `toolchain` of every kernel converted with these tools; undefined for host tools. */
  toolchain: ManifestEntry["toolchain"];
}

/** When a run starts: selects the tools and asks their versions; ConfigError when the pinned toolchain is needed but absent. */
export async function selectTools(toolchain: ToolchainConfig, pahole: PaholeConfig = {}): Promise<SelectedTools> {
  const needsPinned = toolchain.pahole === undefined || toolchain.bpftool === undefined;
  const installed = needsPinned ? await readInstalled(toolchain.dir) : undefined;
  if (needsPinned && installed === undefined) {
    throw new ConfigError(`the pinned converter toolchain is not installed in ${toolchain.dir}`, {
      hint: "run `btfmill toolchain` (make setup does), or name host tools in the config's toolchain.pahole and toolchain.bpftool",
    });
  }
  selectToolCommand(
    "pahole",
    toolchain.pahole === undefined
      ? toolchainCommand(installed!.root, "pahole")
      : { file: toolchain.pahole, prefix: [] },
  );
  selectToolCommand(
    "bpftool",
    toolchain.bpftool === undefined
      ? toolchainCommand(installed!.root, "bpftool")
      : { file: toolchain.bpftool, prefix: [] },
  );
  const [paholeFound, bpftoolFound] = await Promise.all([paholeVersion(), bpftoolVersion()]);
  refuseUnreproducibleThreads(paholeFound, pahole);
  // Recorded when pahole, which makes the bytes, is the pinned one.
  return {
    pahole: paholeFound,
    bpftool: bpftoolFound,
    toolchain:
      installed === undefined || toolchain.pahole !== undefined
        ? undefined
        : {
            suite: installed.suite,
            packages: installed.packages.map(({ name, version, sha256 }) => ({ name, version, sha256 })),
          },
  };
}

/** When a host pahole is configured with threads: refused below 1.29, whose `-j` output changes from run to run. */
export function refuseUnreproducibleThreads(found: ToolVersion, pahole: PaholeConfig): void {
  const { major, minor } = reproducibleThreadsPahole;
  const reproducible = found.major > major || (found.major === major && found.minor >= minor);
  if (typeof pahole.threads === "number" && pahole.threads > 1 && !reproducible) {
    throw new ConfigError(
      `pahole.threads is ${pahole.threads}, but pahole ${found.text} orders types differently from run to run with -j (its output is reproducible whatever -j is only from ${major}.${minor}), so the same package would not give the same BTF`,
      {
        hint: `set pahole.threads to 1 (or "auto", which runs pahole ${found.text} single-threaded), or drop toolchain.pahole to use the pinned pahole`,
      },
    );
  }
}
