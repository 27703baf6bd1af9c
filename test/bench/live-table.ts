// After `btfmill run --config config/live.json` (`make live`): one row per kernel of that archive,
// then one per module its sources select (a second table), from what the runs recorded. The run itself compared each BTF with the kernel's own .BTF
// (validate stage: every named struct/union layout, else the kernel failed) and kept both
// digests in the manifest; the run reports keep each kernel's seconds (the newest report that
// processed it: a rerun converts only kernels new on the mirror, or failed ones with --retry-failed).
//
//   node test/bench/live-table.ts [--config config/live.json]
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ManifestEntry } from "../../archive/manifest.ts";
import { readManifest } from "../../archive/state.ts";
import { loadConfig } from "../../pipeline/config.ts";
import type { RunReport } from "../../pipeline/run-report.ts";

/** When a row is printed: layouts equal/total and whether the bytes are the kernel's own, or why there is no answer. */
function comparison(entry: ManifestEntry): { layouts: string; identical: string } {
  if (entry.status !== "ok")
    return { layouts: "-", identical: `${entry.status}: ${entry.reason ?? "no reason recorded"}` };
  if (entry.kernelBtf === undefined || entry.btf === undefined)
    return { layouts: "-", identical: "kernel has no .BTF" };
  // An ok entry passed validation, which fails a kernel on any differing layout.
  const identical = entry.btf.sha256 === entry.kernelBtf.sha256;
  const sizes = identical ? "" : ` (${entry.btf.size} vs ${entry.kernelBtf.size} bytes)`;
  return {
    layouts: `${entry.kernelBtf.layouts}/${entry.kernelBtf.layouts}`,
    identical: `${identical ? "yes" : "no"}${sizes}`,
  };
}

// Oldest first, so a later run's seconds for a kernel replace an earlier one's.
async function readReports(archive: string): Promise<RunReport[]> {
  const dir = join(archive, "reports");
  const names = (await readdir(dir).catch(() => [])).filter((name) => name.endsWith(".json")).sort();
  if (names.length === 0) throw new Error(`no run report in ${dir}: run btfmill first`);
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(dir, name), "utf8")) as RunReport));
}

const { values } = parseArgs({ options: { config: { type: "string", default: "config/live.json" } } });
const config = await loadConfig(values.config);
const reports = await readReports(config.archive);
const seconds = new Map(reports.flatMap((report) => Object.entries(report.kernels ?? {})));
const manifest = await readManifest(config.archive);

const keys = Object.keys(manifest.kernels).sort();
const rows = keys.map((key) => {
  const entry = manifest.kernels[key]!;
  const { layouts, identical } = comparison(entry);
  return [
    key,
    (entry.package.size / 1e6).toFixed(0),
    seconds.get(key)?.toFixed(0) ?? "-",
    layouts,
    identical.replaceAll("|", "\\|"),
  ];
});
const moduleRows = keys.flatMap((key) => {
  const modules = manifest.kernels[key]!.modules;
  if (modules === undefined) return [];
  return [
    ...Object.entries(modules.files).map(([name, file]) => [
      key,
      name,
      file.types?.toString() ?? "-",
      file.ownBtf === undefined ? "-" : `${file.ownBtf.layouts}/${file.ownBtf.layouts}`,
      file.ownBtf === undefined
        ? "module has no .BTF"
        : file.ownBtf.sha256 === file.sha256
          ? "yes"
          : `no (${file.size} vs ${file.ownBtf.size} bytes)`,
    ]),
    ...Object.entries(modules.failed ?? {}).map(([name, reason]) => [key, name, "-", "-", `failed: ${reason}`]),
    ...(modules.missing ?? []).map((name) => [key, name, "-", "-", "not in the package"]),
  ].sort((a, b) => a[1]!.localeCompare(b[1]!));
});
const paholes = [...new Set(keys.flatMap((key) => manifest.kernels[key]!.pahole?.version ?? []))];
const newest = reports.at(-1)!;

console.log(
  `${keys.length} kernels; newest run ${newest.startedAt} .. ${newest.finishedAt} (${newest.durationSeconds.toFixed(0)} s, ${(newest.downloadedBytes / 1e9).toFixed(1)} GB downloaded); pahole ${paholes.join(", ") || "-"}`,
);
console.log("");
console.log("| kernel | package MB | seconds | layouts equal/total | bytes identical |");
console.log("|---|---:|---:|---:|---|");
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
if (moduleRows.length > 0) {
  // A module's layouts: the struct/union names it defines, compared, with the kernel's types they
  // reach, against its own .BTF (split against the kernel's own); an ok module passed that comparison.
  console.log("");
  console.log("| kernel | module | types | layouts equal/total | bytes identical to its own .BTF |");
  console.log("|---|---|---:|---:|---|");
  for (const row of moduleRows) console.log(`| ${row.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`);
}
