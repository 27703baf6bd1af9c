// The options most commands take: which config, JSON output, help.
import type { Options } from "./context.ts";

export const commonOptions = {
  config: { type: "string", short: "c" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;
