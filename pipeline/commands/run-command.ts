// `btfmill run`: the main job.
import { loadConfig } from "../config.ts";
import { ConfigError } from "../../archive/errors.ts";
import type { Reporter } from "../events.ts";
import { describeAbsentSuites, plainReporter, ttyReporter } from "../reporters.ts";
import { runReportCollector } from "../run-report.ts";
import { runPipeline, type RunFilters, type RunSummary } from "../run.ts";
import { parseShard } from "../shard.ts";
import type { CommandContext, OptionValues } from "./context.ts";
import type { runSpec, workSelection } from "./run-options.ts";
import { stateOption } from "./state-option.ts";

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new ConfigError(`--${name} must be a whole number >= 1, not "${value}"`);
  return number;
}

function printSummary(summary: RunSummary, write: (line: string) => void): void {
  write(
    `summary: ${summary.ok} ok, ${summary.failed.length} failed, ${summary.skipped} skipped, ${summary.unchanged} unchanged` +
      (summary.minified ? `, ${summary.minified} minified` : "") +
      (summary.staleSources.length ? `, ${summary.staleSources.length} source(s) stale` : ""),
  );
  for (const failure of summary.failed) write(`  failed ${failure.kernel}: ${failure.reason}`);
  for (const stale of summary.staleSources) write(`  stale ${stale.source}: ${stale.reason}`);
  for (const absent of summary.absentSuites)
    write(`  suites absent ${absent.source}: ${describeAbsentSuites(absent.suites)}`);
}

/** The source filters `run` and `plan` share. */
export function runFilters(values: OptionValues<typeof workSelection>): RunFilters {
  return {
    distro: values.distro,
    release: values.release,
    arch: values.arch,
    flavor: values.flavor,
    latest: positiveInt("latest", values.latest),
  };
}

/** When the user runs `btfmill run`: exit code 0 only when every kernel and source succeeded. */
export async function runCommand(context: CommandContext<typeof runSpec.options>): Promise<number> {
  const { values } = context;
  const config = await loadConfig(values.config);
  const display = process.stderr.isTTY && !values.json ? ttyReporter() : plainReporter();
  const collector = runReportCollector();
  const reporter: Reporter = {
    event(event) {
      display.event(event);
      collector.event(event);
    },
    close: () => display.close(),
  };
  const controller = new AbortController();
  const stop = (): void => controller.abort(new Error("interrupted"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let summary: RunSummary;
  try {
    summary = await runPipeline(config, {
      filters: runFilters(values),
      shard: values.shard === undefined ? undefined : parseShard(values.shard),
      jobs: positiveInt("jobs", values.jobs),
      retryFailed: Boolean(values["retry-failed"]),
      recheck: Boolean(values.recheck),
      ...(values.reconvert ? { reconvert: true } : {}),
      state: stateOption(values),
      reporter,
      signal: controller.signal,
    });
  } finally {
    reporter.close();
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  const reportPath = await collector.write(config.archive, summary);
  if (values.json) context.stdout(JSON.stringify(summary, null, 2));
  else printSummary(summary, context.stderr);
  context.stderr(`report: ${reportPath}`);
  return summary.failed.length === 0 && summary.staleSources.length === 0 ? 0 : 1;
}
