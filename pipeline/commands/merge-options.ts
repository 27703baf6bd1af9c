// `btfmill merge`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";
import { stateOptions, stateUsage } from "./state-option.ts";

export const mergeSpec = commandSpec({
  name: "merge",
  summary: "combine archives (shard results) into one archive and manifest",
  usage: `btfmill merge ARCHIVE... --out DIR [--json]

  Every kernel of every input is kept; when several inputs have the same kernel, the entry with
  the better status (ok > skipped > failed), then the later update, then the earlier input wins.
  Files are copied with their sha256 checked; an existing archive in DIR is merged in first.
  With --state, a file an input lacks may be one the site publishes (the input's run started
  from it): it stays there, and later commands given the same --state fetch it.
${stateUsage}`,
  options: { ...commonOptions, ...stateOptions, out: { type: "string", short: "o" } },
});
