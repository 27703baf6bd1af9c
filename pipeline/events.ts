// What a run tells the person watching it. The orchestrator emits events; a reporter draws
// them as progress bars on a terminal or as one plain line each otherwise.
import type { ManifestEntry, MinifiedRecord } from "../archive/manifest.ts";

export type KernelStage = "download" | "extract" | "hash" | "convert" | "validate" | "store";

export type RunEvent =
  | {
      type: "source";
      source: string;
      status: "ok" | "stale";
      found?: number;
      /** Skipped as settled: its signed indexes and all else its work depends on are as the last full read left them. */
      settled?: boolean;
      absentSuites?: string[];
      reason?: string;
    }
  | { type: "plan"; todo: number; unchanged: number }
  | { type: "stage"; kernel: string; stage: KernelStage; bytes?: number; totalBytes?: number }
  | { type: "done"; kernel: string; entry: ManifestEntry; keptPrevious: boolean }
  | { type: "minified"; kernel: string; set: string; record: MinifiedRecord };

export interface Reporter {
  event(event: RunEvent): void;
  close(): void;
}
