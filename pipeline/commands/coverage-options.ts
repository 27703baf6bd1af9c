// `btfmill coverage`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";

export const coverageSpec = commandSpec({
  name: "coverage",
  summary: "show which registered objects' CO-RE relocations do not resolve on which kernels",
  usage: `btfmill coverage [--config FILE] [--set S] [--json]

  --set S    the object set (default: all, the union of every registered object)
  --json     the coverage records as JSON`,
  options: { ...commonOptions, set: { type: "string" } },
});
