// The machine-readable account of one run (`<archive>/reports/<started>.json`): counts per
// source and status, time spent per stage, bytes downloaded, and every failure with its reason,
// gathered from the same events the progress display gets.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomically } from "../archive/atomic-write.ts";
import type { KernelStage, Reporter, RunEvent } from "./events.ts";
import type { RunSummary } from "./run.ts";

export interface RunReport {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /** Per source: `absentSuites` names the default suites no configured mirror carries, read as empty. */
  sources: Record<
    string,
    {
      status: "ok" | "stale";
      reason?: string;
      found?: number;
      absentSuites?: string[];
      kernels: Record<string, number>;
    }
  >;
  /** Seconds spent in each stage, summed over kernels, and how many kernels went through it. */
  stages: Partial<Record<KernelStage, { seconds: number; kernels: number }>>;
  /** Wall-clock seconds of each kernel done in this run, from its first stage to its entry. */
  kernels: Record<string, number>;
  downloadedBytes: number;
  summary: RunSummary;
}

interface KernelClock {
  stage: KernelStage;
  since: number;
  bytes: number;
}

function sourceOf(kernel: string): string {
  return kernel.split("/").slice(0, 3).join("/");
}

/** When a run starts: a reporter that watches the run and, at the end, writes its report. */
export function runReportCollector(
  now: () => number = Date.now,
): Reporter & { write(archiveRoot: string, summary: RunSummary): Promise<string> } {
  const started = now();
  const sources: RunReport["sources"] = {};
  const stages: RunReport["stages"] = {};
  const clocks = new Map<string, KernelClock>();
  const startedAt = new Map<string, number>();
  const kernels: RunReport["kernels"] = {};
  let downloadedBytes = 0;
  const addTime = (stage: KernelStage, seconds: number, newKernel: boolean): void => {
    const held = stages[stage] ?? { seconds: 0, kernels: 0 };
    stages[stage] = { seconds: held.seconds + seconds, kernels: held.kernels + (newKernel ? 1 : 0) };
  };
  const closeStage = (kernel: string, at: number): void => {
    const clock = clocks.get(kernel);
    if (clock) addTime(clock.stage, (at - clock.since) / 1000, false);
  };
  const source = (id: string): RunReport["sources"][string] => (sources[id] ??= { status: "ok", kernels: {} });
  const event = (item: RunEvent): void => {
    const at = now();
    switch (item.type) {
      case "source":
        Object.assign(source(item.source), {
          status: item.status,
          ...(item.reason ? { reason: item.reason } : {}),
          ...(item.found !== undefined ? { found: item.found } : {}),
          ...(item.absentSuites ? { absentSuites: item.absentSuites } : {}),
        });
        return;
      case "stage": {
        const clock = clocks.get(item.kernel);
        // Only download progress carries bytes, also when pahole already runs beside the tail's download.
        if (item.bytes !== undefined) {
          downloadedBytes += item.bytes - (clock?.bytes ?? 0);
        }
        if (!startedAt.has(item.kernel)) startedAt.set(item.kernel, at);
        if (clock?.stage !== item.stage) {
          closeStage(item.kernel, at);
          addTime(item.stage, 0, true);
          clocks.set(item.kernel, { stage: item.stage, since: at, bytes: item.bytes ?? clock?.bytes ?? 0 });
        } else if (item.bytes !== undefined) clock.bytes = item.bytes;
        return;
      }
      case "done": {
        closeStage(item.kernel, at);
        clocks.delete(item.kernel);
        kernels[item.kernel] = (at - (startedAt.get(item.kernel) ?? at)) / 1000;
        startedAt.delete(item.kernel);
        const counts = source(sourceOf(item.kernel)).kernels;
        counts[item.entry.status] = (counts[item.entry.status] ?? 0) + 1;
        return;
      }
      case "minified":
      case "plan":
        return;
    }
  };
  return {
    event,
    close() {},
    async write(archiveRoot, summary) {
      const finished = now();
      const report: RunReport = {
        startedAt: new Date(started).toISOString(),
        finishedAt: new Date(finished).toISOString(),
        durationSeconds: (finished - started) / 1000,
        sources,
        stages,
        kernels,
        downloadedBytes,
        summary,
      };
      const dir = join(archiveRoot, "reports");
      await mkdir(dir, { recursive: true });
      const path = join(dir, `${report.startedAt.replace(/[:.]/g, "-")}.json`);
      await writeFileAtomically(path, `${JSON.stringify(report, null, 2)}\n`);
      return path;
    },
  };
}
