// Progress on a TTY (a bar per kernel in flight: stage and bytes), plain lines otherwise, so
// CI logs stay readable and a person at a terminal sees where the time goes.
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import type { Reporter, RunEvent } from "./events.ts";

function formatMiB(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** How run, plan and their summaries name the default suites a source was read without. */
export function describeAbsentSuites(suites: string[]): string {
  return `no mirror carries ${suites.join(", ")}, read as empty`;
}

function describeEvent(event: RunEvent): string | undefined {
  switch (event.type) {
    case "source":
      return event.status === "ok"
        ? `source ${event.source}: ${event.found} kernel package(s) ${event.settled ? "unchanged since its last full read (signed indexes the same)" : "found"}${event.absentSuites ? `; ${describeAbsentSuites(event.absentSuites)}` : ""}`
        : `source ${event.source}: STALE, previous entries kept: ${event.reason}`;
    case "plan":
      return `plan: ${event.todo} kernel(s) to process, ${event.unchanged} unchanged`;
    case "stage":
      return undefined;
    case "minified": {
      const { record } = event;
      if (record.error !== undefined) return `FAILED minify ${event.kernel} for set ${event.set}: ${record.error}`;
      const unresolved = record.coverage.reduce((sum, object) => sum + object.unresolved.length, 0);
      const total = record.coverage.reduce((sum, object) => sum + object.total, 0);
      return `minified ${event.kernel} for set ${event.set}: ${record.file?.size} bytes, ${total - unresolved}/${total} relocations resolve${unresolved ? ` (${unresolved} do not: btfmill coverage)` : ""}`;
    }
    case "done": {
      const { entry } = event;
      const key = event.kernel;
      if (entry.status === "ok") {
        return `ok ${key}: ${entry.tarball?.path} (${entry.btf?.size} bytes BTF${entry.kernelHasBtf ? ", kernel has its own BTF: layouts match" : ""})`;
      }
      if (entry.status === "skipped") return `skipped ${key}: ${entry.reason}`;
      return `FAILED ${key}: ${entry.reason}${event.keptPrevious ? " (previous ok entry kept)" : ""}`;
    }
  }
}

/** When output is not a terminal: one line per event, stage changes included. */
export function plainReporter(write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Reporter {
  const lastStage = new Map<string, string>();
  return {
    event(event) {
      if (event.type === "stage") {
        if (lastStage.get(event.kernel) === event.stage) return;
        lastStage.set(event.kernel, event.stage);
        write(`${event.stage} ${event.kernel}${event.totalBytes ? ` (${formatMiB(event.totalBytes)})` : ""}`);
        return;
      }
      const line = describeEvent(event);
      if (line) write(line);
    },
    close() {},
  };
}

/** When stderr is a terminal: a bar per kernel in flight. */
export function ttyReporter(): Reporter {
  const multibar = new MultiBar(
    {
      format: " {bar} {percentage}% | {stage} | {value}/{total} MiB | {kernel}",
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const bars = new Map<string, SingleBar>();
  return {
    event(event) {
      if (event.type === "stage") {
        let bar = bars.get(event.kernel);
        const total = Math.max(1, Math.round((event.totalBytes ?? 0) / 1048576));
        if (!bar) {
          bar = multibar.create(total, 0, { stage: event.stage, kernel: event.kernel });
          bars.set(event.kernel, bar);
        }
        if (event.totalBytes) bar.setTotal(total);
        bar.update(event.bytes === undefined ? bar.getProgress() * bar.getTotal() : Math.round(event.bytes / 1048576), {
          stage: event.stage,
        });
        return;
      }
      if (event.type === "done") {
        const bar = bars.get(event.kernel);
        bar?.update(bar.getTotal(), { stage: event.entry.status });
        bar?.stop();
        bars.delete(event.kernel);
      }
      const line = describeEvent(event);
      if (line) multibar.log(`${line}\n`);
    },
    close() {
      multibar.stop();
    },
  };
}
