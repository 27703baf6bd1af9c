// `btfmill gen`: minified BTF for any BPF objects, from any source of full BTF, registering nothing.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { gen, type GenTools } from "../../site/gen.ts";
import { btfhubDefaults } from "../../site/gen-sources.ts";
import { ConfigError } from "../../archive/errors.ts";
import { minCoreBtf } from "../tools/bpftool.ts";
import { runFileTool, stopSpawner } from "../tools/spawner.ts";
import type { CommandContext } from "./context.ts";
import { inModulesText } from "./coverage-command.ts";
import type { genSpec } from "./gen-options.ts";

/** gen's tools, through the spawner: forking a small helper is cheaper than forking this process per kernel. */
export const genTools: GenTools = {
  minify: (input, output, objects) => minCoreBtf(input, output, objects),
  xzDecode: (input, output) =>
    runFileTool("xz", ["-dc", "--", input], {
      stdoutFile: output,
      timeoutMs: 5 * 60_000,
      hint: "the tarball is damaged: fetch it again (remove it from gen's cache)",
    }),
};

/** When the user runs `btfmill gen --objects A.o [B.o...] --from SRC --out DIR`: exit 0 when every kernel was minified, 1 when some failed or do not resolve. */
export async function genCommand(context: CommandContext<typeof genSpec.options>): Promise<number> {
  const { values } = context;
  const objects = [...(values.objects ?? []), ...context.positionals].map((path) => resolve(path));
  const from = values.from;
  const out = values.out;
  if (objects.length === 0 || from === undefined || out === undefined)
    throw new ConfigError("gen needs --objects A.o [B.o...], --from SRC and --out DIR");
  const emit = values.emit;
  if (emit !== undefined && emit !== "go") throw new ConfigError(`--emit ${emit}: only "go" is supported`);
  const cache = resolve(
    values.cache ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "btfmill", "gen"),
  );
  let summary;
  try {
    summary = await gen({
      objects,
      from: from === "btfhub" || /^https?:\/\//.test(from) ? from : resolve(from),
      out: resolve(out),
      cache,
      distro: values.distro,
      release: values.release,
      arch: values.arch,
      emitGo: emit === "go" ? { packageName: values["go-package"] ?? "btfs" } : undefined,
      bundle: values.bundle === true,
      btfhub: {
        api: values["btfhub-api"] ?? btfhubDefaults.api,
        raw: values["btfhub-raw"] ?? btfhubDefaults.raw,
        ref: btfhubDefaults.ref,
      },
      tools: genTools,
    });
  } finally {
    await stopSpawner();
  }
  const { index } = summary;
  if (values.json) {
    const kernels = Object.fromEntries(
      Object.entries(index.coverage).map(([key, coverage]) => [
        key,
        {
          file: index.kernels[key]?.path,
          ...(index.mergedModules?.[key] === undefined ? {} : { modules: index.mergedModules[key] }),
          objects: coverage.map(({ object, total, resolved, guarded, unresolved, resolvedInModules }) => ({
            object,
            total,
            resolved,
            guarded,
            unresolved,
            ...(resolvedInModules === undefined ? {} : { resolvedInModules }),
          })),
        },
      ]),
    );
    context.stdout(
      JSON.stringify(
        {
          minified: summary.minified,
          unchanged: summary.unchanged,
          failed: index.failed,
          downloads: summary.downloads,
          kernels,
        },
        null,
        2,
      ),
    );
  } else {
    for (const [key, coverage] of Object.entries(index.coverage)) {
      for (const object of coverage) {
        // Objects that resolve are listed only when modules served some of their relocations.
        const inModules = inModulesText(object);
        if (object.unresolved.length === 0 && inModules === "") continue;
        const status = object.unresolved.length === 0 ? "ok" : "BROKEN";
        context.stdout(
          `${status.padEnd(6)} ${key}  ${object.object}: ${object.resolved}/${object.total} resolve, ${object.guarded.length} guarded${inModules}`,
        );
        for (const miss of object.unresolved)
          context.stdout(`         ${miss.section} ${miss.kind} ${miss.name}: ${miss.why}`);
      }
    }
    for (const [key, reason] of Object.entries(index.failed)) context.stdout(`FAILED ${key}: ${reason}`);
    context.stderr(
      `gen into ${resolve(out)}: ${summary.minified} minified, ${summary.unchanged} unchanged, ${summary.failed} failed, ${index.broken.length} with relocations that do not resolve; ${summary.downloads} file(s) downloaded`,
    );
  }
  return summary.failed > 0 || index.broken.length > 0 ? 1 : 0;
}
