// `btfmill coverage`: which registered objects' CO-RE relocations fail on which kernels, as
// recorded in the manifest when each kernel was minified.
import { readManifest } from "../../archive/state.ts";
import { loadConfig } from "../config.ts";
import { unionSetName } from "../../archive/manifest.ts";
import { ConfigError } from "../../archive/errors.ts";
import type { CommandContext } from "./context.ts";
import type { coverageSpec } from "./coverage-options.ts";

/** When the user runs `btfmill coverage [--set S] [--json]`: the kernel x object matrix of one set. */
export async function coverageCommand(context: CommandContext<typeof coverageSpec.options>): Promise<number> {
  const config = await loadConfig(context.values.config);
  const set = context.values.set ?? unionSetName;
  const manifest = await readManifest(config.archive);
  const rows = Object.entries(manifest.kernels).flatMap(([kernel, entry]) => {
    const record = entry.minified?.[set];
    return record ? [{ kernel, record }] : [];
  });
  if (rows.length === 0) {
    const known = [
      ...new Set(Object.values(manifest.kernels).flatMap((entry) => Object.keys(entry.minified ?? {}))),
    ].sort();
    throw new ConfigError(`no kernel in ${config.archive} has coverage for set "${set}"`, {
      hint: known.length
        ? `sets recorded: ${known.join(", ")}`
        : "register objects in the config's `objects` and run btfmill run",
    });
  }
  if (context.values.json) {
    context.stdout(
      JSON.stringify(
        { set, kernels: Object.fromEntries(rows.map(({ kernel, record }) => [kernel, record.coverage])) },
        null,
        2,
      ),
    );
    return 0;
  }
  let broken = 0;
  for (const { kernel, record } of rows) {
    for (const object of record.coverage) {
      const status = object.unresolved.length === 0 ? "ok" : "BROKEN";
      if (object.unresolved.length > 0) broken += 1;
      const guarded = object.guarded.length ? `, ${object.guarded.length} guarded` : "";
      const inModules = inModulesText(object);
      context.stdout(
        `${status.padEnd(6)} ${kernel}  ${object.object}: ${object.resolved}/${object.total} resolve${guarded}${inModules}`,
      );
      for (const miss of object.unresolved)
        context.stdout(`         ${miss.section} ${miss.kind} ${miss.name}: ${miss.why}`);
      for (const read of object.guarded) {
        if (read.guard === undefined) continue;
        const { index, kind, name, value } = read.guard;
        context.stdout(
          `         guarded ${read.section} ${read.kind} ${read.name}: ${read.why}; relo #${index} ${kind} ${name} is ${value} here`,
        );
      }
    }
    if (record.error) context.stdout(`FAILED ${kernel}  minifying set ${set}: ${record.error}`);
  }
  context.stderr(
    `${rows.length} kernel(s), set ${set}: ${broken} object x kernel pair(s) with relocations that do not resolve`,
  );
  return 0;
}

/** When coverage is printed: where relocations resolved, when modules were merged (`, 3 in nf_conntrack`); the rest resolved in vmlinux. */
export function inModulesText(object: { resolvedInModules?: readonly { module: string }[] | undefined }): string {
  return [...Map.groupBy(object.resolvedInModules ?? [], (hit) => hit.module)]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([module, hits]) => `, ${hits.length} in ${module}`)
    .join("");
}
