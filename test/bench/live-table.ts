// After `btfmill run --config config/live.json` (`make live`): one row per kernel of that run, from
// what the run recorded. The run itself compared each BTF with the kernel's own .BTF (validate
// stage: every named struct/union layout, else the kernel failed) and kept both digests in the
// manifest; its report keeps each kernel's seconds. This only lines them up.
//
//   node test/bench/live-table.ts [--config config/live.json] [--report FILE]
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readManifest, type ManifestEntry } from "../../archive/manifest.ts";
import { loadConfig } from "../../pipeline/config.ts";
import type { RunReport } from "../../pipeline/run-report.ts";

/** When a row is printed: layouts equal/total and whether the bytes are the kernel's own, or why there is no answer. */
function comparison(entry: ManifestEntry): { layouts: string; identical: string } {
  if (entry.status !== "ok") return { layouts: "-", identical: `${entry.status}: ${entry.reason ?? "no reason recorded"}` };
  if (entry.ownBtf === undefined || entry.btf === undefined) return { layouts: "-", identical: "kernel has no .BTF" };
  // An ok entry passed validation, which fails a kernel on any differing layout.
  const identical = entry.btf.sha256 === entry.ownBtf.sha256;
  const sizes = identical ? "" : ` (${entry.btf.size} vs ${entry.ownBtf.size} bytes)`;
  return { layouts: `${entry.ownBtf.layouts}/${entry.ownBtf.layouts}`, identical: `${identical ? "yes" : "no"}${sizes}` };
}

async function newestReport(archive: string): Promise<string> {
  const dir = join(archive, "reports");
  const names = (await readdir(dir)).filter((name) => name.endsWith(".json")).sort();
  if (names.length === 0) throw new Error(`no run report in ${dir}: run btfmill first`);
  return join(dir, names.at(-1)!);
}

const { values } = parseArgs({ options: { config: { type: "string", default: "config/live.json" }, report: { type: "string" } } });
const config = await loadConfig(values.config);
const reportPath = values.report ?? (await newestReport(config.archive));
const report = JSON.parse(await readFile(reportPath, "utf8")) as RunReport;
const manifest = await readManifest(config.archive);

const rows = Object.entries(report.kernels)
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([key, seconds]) => {
    const entry = manifest.kernels[key];
    if (entry === undefined) return [key, "-", seconds.toFixed(0), "-", "not in the manifest"];
    const { layouts, identical } = comparison(entry);
    return [key, (entry.package.size / 1e6).toFixed(0), seconds.toFixed(0), layouts, identical.replaceAll("|", "\\|")];
  });
const paholes = [...new Set(Object.keys(report.kernels).flatMap((key) => manifest.kernels[key]?.pahole?.version ?? []))];

console.log(`run ${report.startedAt} .. ${report.finishedAt} (${report.durationSeconds.toFixed(0)} s, ${(report.downloadedBytes / 1e9).toFixed(1)} GB downloaded), pahole ${paholes.join(", ") || "-"}`);
console.log("");
console.log("| kernel | package MB | seconds | layouts equal/total | bytes identical |");
console.log("|---|---:|---:|---:|---|");
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
