// `btfmill list`: what the archive holds, from its manifest.
import { readManifest } from "../../archive/state.ts";
import { loadConfig } from "../config.ts";
import type { CommandContext } from "./context.ts";
import type { listSpec } from "./list-options.ts";

/** When the user runs `btfmill list`: one line per kernel, or the entries as JSON. */
export async function listCommand(context: CommandContext<typeof listSpec.options>): Promise<number> {
  const config = await loadConfig(context.values.config);
  const manifest = await readManifest(config.archive);
  const entries = Object.entries(manifest.kernels);
  if (context.values.json) {
    context.stdout(JSON.stringify({ sources: manifest.sources, kernels: manifest.kernels }, null, 2));
    return 0;
  }
  if (entries.length === 0) {
    context.stderr(`no kernels in ${config.archive} yet: run "btfmill run"`);
    return 0;
  }
  for (const [key, entry] of entries) {
    const detail =
      entry.status === "ok"
        ? `${entry.tarball?.path} ${entry.tarball?.size}B btf=${entry.btf?.sha256.slice(0, 12)}${entry.kernelHasBtf ? " kernel-has-btf" : ""}`
        : entry.reason;
    context.stdout(`${entry.status.padEnd(6)} ${key}  ${detail}`);
  }
  for (const [id, source] of Object.entries(manifest.sources)) {
    if (source.status === "stale") context.stdout(`stale  source ${id}: ${source.reason}`);
  }
  return 0;
}
