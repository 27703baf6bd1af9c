// `--state URL|DIR [--state-public-key FILE]`, taken by run, plan, merge and publish.
import { ConfigError } from "../../archive/errors.ts";
import type { StateOptions } from "../../site/state/state-site.ts";
import type { CommandContext } from "./context.ts";

/** When a command reads its options: the state site, if one was given. */
export function stateOption(values: CommandContext["values"]): StateOptions | undefined {
  const from = values.state as string | undefined;
  const publicKey = values["state-public-key"] as string | undefined;
  if (from === undefined) {
    if (publicKey !== undefined) throw new ConfigError("--state-public-key needs --state URL|DIR");
    return undefined;
  }
  return { from, publicKey };
}
