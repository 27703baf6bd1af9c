// `btfmill publish`: the archive as a static site (site/publish.ts).
import { resolve } from "node:path";
import { publishSite } from "../../site/publish.ts";
import { describeBytes, describeShares } from "../../site/publish-size.ts";
import { loadConfig } from "../config.ts";
import { byteSize } from "./byte-size.ts";
import type { CommandContext } from "./context.ts";
import type { publishSpec } from "./publish-options.ts";
import { stateOption } from "./state-option.ts";

/** When the user runs `btfmill publish [--out DIR] [--full] [--key FILE]`. */
export async function publishCommand(context: CommandContext<typeof publishSpec.options>): Promise<number> {
  const config = await loadConfig(context.values.config);
  const out = resolve(context.values.out ?? "btf-site");
  const { tree, manifest, size } = await publishSite({
    archive: config.archive,
    out,
    full: context.values.full === true,
    keyFile: context.values.key,
    state: stateOption(context.values),
    maxBytes: byteSize("max-bytes", context.values["max-bytes"]) ?? config.site.maxBytes,
  });
  const counts = { ok: 0, failed: 0, skipped: 0 };
  for (const kernel of manifest.kernels) counts[kernel.status] += 1;
  if (context.values.json) {
    context.stdout(
      JSON.stringify(
        { out, tree, kernels: counts, sets: manifest.sets.map((set) => set.name), bundles: manifest.bundles, size },
        null,
        2,
      ),
    );
    return 0;
  }
  context.stdout(`published ${out} -> ${tree}`);
  context.stdout(`kernels: ${counts.ok} with BTF, ${counts.failed} failed, ${counts.skipped} already have BTF`);
  context.stdout(
    `site: ${describeBytes(size.bytes)} in ${size.files} files (limit ${describeBytes(size.maxBytes)}): ${describeShares(size)}`,
  );
  if (manifest.sets.length === 0) {
    context.stdout(
      'no object sets in the archive: kernels have no minified BTF; register objects in the config\'s "objects" and run "btfmill run"',
    );
  }
  for (const bundle of manifest.bundles)
    context.stdout(`bundle ${bundle.path}: ${bundle.files} files, ${bundle.size} bytes`);
  for (const source of manifest.sources) {
    if (source.status === "stale") context.stdout(`stale source ${source.id}: ${source.reason ?? "unknown reason"}`);
  }
  return 0;
}
