// `btfmill list`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";

export const listSpec = commandSpec({
  name: "list",
  summary: "list the kernels in the archive's manifest",
  usage: `btfmill list [--config FILE] [--json]`,
  options: commonOptions,
});
