// `btfmill plan`: a run's work list without doing it.
import { loadConfig } from "../config.ts";
import { previewRun } from "../plan-preview.ts";
import { describeAbsentSuites } from "../reporters.ts";
import { parseShard } from "../shard.ts";
import type { CommandContext } from "./context.ts";
import type { planSpec } from "./plan-options.ts";
import { stateOption } from "./state-option.ts";
import { runFilters } from "./run-command.ts";

/** When the user runs `btfmill plan [--json]`: exit 0 unless a source could not be read. */
export async function planCommand(context: CommandContext<typeof planSpec.options>): Promise<number> {
  const { values } = context;
  const config = await loadConfig(values.config);
  const preview = await previewRun(config, {
    filters: runFilters(values),
    shard: values.shard === undefined ? undefined : parseShard(values.shard),
    retryFailed: Boolean(values["retry-failed"]),
    recheck: Boolean(values.recheck),
    state: stateOption(values),
  });
  if (values.json) {
    context.stdout(JSON.stringify(preview, null, 2));
  } else {
    for (const source of preview.sources) {
      const detail =
        source.reason ??
        [
          ...(source.settled ? ["settled: indexes unchanged since its last full read"] : []),
          ...(source.absentSuites ? [describeAbsentSuites(source.absentSuites)] : []),
        ].join("; ");
      context.stdout(`source ${source.source}: ${source.status}${detail ? ` (${detail})` : ""}`);
    }
    for (const kernel of preview.kernels) context.stdout(`${kernel.action.padEnd(18)} ${kernel.kernel}`);
    for (const item of preview.minify)
      context.stdout(`${"minify".padEnd(18)} ${item.kernel} (${item.sets.join(", ")})`);
    const counts = new Map<string, number>();
    const unchanged = preview.sources.reduce((total, source) => total + source.unchanged, 0);
    if (unchanged > 0) counts.set("unchanged", unchanged);
    for (const kernel of preview.kernels) counts.set(kernel.action, (counts.get(kernel.action) ?? 0) + 1);
    const parts = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([action, count]) => `${count} ${action}`);
    context.stderr(
      `plan: ${parts.join(", ") || "no kernels"}; ${preview.minify.length} kernel(s) to minify; ${(preview.downloadBytes / 1e6).toFixed(0)} MB to download`,
    );
  }
  return preview.sources.some((source) => source.status === "stale") ? 1 : 0;
}
