// `btfmill merge`: shard archives into one.
import { mergeArchives } from "../merge.ts";
import { ConfigError } from "../../archive/errors.ts";
import type { CommandContext } from "./context.ts";
import type { mergeSpec } from "./merge-options.ts";
import { stateOption } from "./state-option.ts";

/** When the user runs `btfmill merge ARCHIVE... --out DIR`. */
export async function mergeCommand(context: CommandContext<typeof mergeSpec.options>): Promise<number> {
  const out = context.values.out;
  if (out === undefined) throw new ConfigError("merge needs --out DIR");
  const state = stateOption(context.values);
  const summary = await mergeArchives(context.positionals, out, state === undefined ? {} : { state });
  if (context.values.json) context.stdout(JSON.stringify(summary, null, 2));
  else {
    context.stderr(
      `merged ${context.positionals.length} archive(s) into ${out}: ${summary.kernels} kernels, ${summary.filesCopied} files copied, ${summary.conflicts.length} kernel(s) in several inputs`,
    );
    for (const conflict of summary.conflicts) context.stderr(`  ${conflict.kernel}: kept ${conflict.kept}`);
  }
  return 0;
}
