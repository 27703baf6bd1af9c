// Runs the cilium/ebpf consumer check over a whole archive: every minified file the manifest
// names, against its kernel's full BTF, with the registered objects of its set.
//
//   node test/consumers/check-archive.ts [--config btfmill.json]
//
// Exit code 0 when every file gives the same fixups as the full BTF, 1 when one does not, 2 when
// the checker cannot be built here (no Go, or the Debian mirror unreachable).
import { parseArgs } from "node:util";
import { readManifest } from "../../archive/state.ts";
import { loadConfig } from "../../pipeline/config.ts";
import { loadObjectSets } from "../../pipeline/object-registry.ts";
import { checkArchiveMinified, ciliumChecker } from "../helpers/cilium-check.ts";

const { values } = parseArgs({ options: { config: { type: "string" } } });
const config = await loadConfig(values.config);
const paths = new Map(
  (await loadObjectSets(config.objects, config.archive)).flatMap((set) =>
    set.objects.map((object) => [object.name, object.path] as const),
  ),
);
const checker = await ciliumChecker();
if ("skip" in checker) {
  console.error(`cilium-check cannot run: ${checker.skip}`);
  process.exit(2);
}
const started = performance.now();
const { files, failures } = await checkArchiveMinified(
  checker.binary,
  config.archive,
  await readManifest(config.archive),
  (name) => {
    const path = paths.get(name);
    if (path === undefined) throw new Error(`the manifest names object ${name}, which the config no longer registers`);
    return path;
  },
);
for (const failure of failures) console.log(`DIFFERS ${failure}`);
console.error(
  `cilium-check: ${files} minified file(s), ${failures.length} differ from the full BTF, ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
process.exit(failures.length === 0 ? 0 : 1);
