// The pipeline's public surface, for programs that drive btfmill without the CLI.
export { loadConfig, parseConfig, type Config } from "./config.ts";
export { runPipeline, type RunOptions, type RunSummary, type RunFilters } from "./run.ts";
export { plainReporter } from "./reporters.ts";
export type { Reporter, RunEvent } from "./events.ts";
export {
  BtfmillError,
  ConfigError,
  FetchError,
  FormatError,
  IntegrityError,
  ToolError,
  VmlinuxNotFoundError,
} from "../archive/errors.ts";
