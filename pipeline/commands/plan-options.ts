// `btfmill plan`'s options and help: run's selection, without what only converting needs.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";
import { workSelection } from "./run-options.ts";
import { stateOptions, stateUsage } from "./state-option.ts";

export const planSpec = commandSpec({
  name: "plan",
  summary: "show what run would do (new, changed, retried, skipped, to minify) without downloading packages",
  usage: `btfmill plan [--config FILE] [--distro D] [--release R] [--arch A] [--flavor F] [--latest N] [--shard I/N] [--retry-failed] [--recheck] [--state URL|DIR] [--json]

  Takes run's options; missing-file means the kernel's full BTF is neither in the archive nor on the state site.
${stateUsage}`,
  options: { ...commonOptions, ...workSelection, ...stateOptions },
});
