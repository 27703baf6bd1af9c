// `--state URL|DIR [--state-public-key FILE]`, taken by run, plan, merge and publish: where a
// command's archive starts from when the local folder is not the whole of it.
import { ConfigError } from "../../archive/errors.ts";
import type { StateOptions } from "../../site/state/state-site.ts";
import type { Options } from "./context.ts";

export const stateOptions = {
  state: { type: "string" },
  "state-public-key": { type: "string" },
} as const satisfies Options;

export const stateUsage = `  --state URL|DIR  start from a published site (its archive-manifest.json) instead of only the
                   local archive: kernels it has are not redone, and files the local archive lacks
                   (minified BTF, full/ tarballs) are fetched from it by sha256 when needed
  --state-public-key PEM  require the site's manifest.json.sig to verify with this key`;

/** When a command reads its options: the state site, if one was given. */
export function stateOption(values: { state?: string; "state-public-key"?: string }): StateOptions | undefined {
  const { state: from, "state-public-key": publicKey } = values;
  if (from === undefined) {
    if (publicKey !== undefined) throw new ConfigError("--state-public-key needs --state URL|DIR");
    return undefined;
  }
  return { from, publicKey };
}
