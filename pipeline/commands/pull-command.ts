// `btfmill pull`: the files a project embeds, brought up to date from a published site.
import { resolve } from "node:path";
import { ConfigError } from "../../archive/errors.ts";
import { pull, pullVias, type PullVia } from "../../site/pull.ts";
import type { ModuleWant } from "../../site/pull-modules.ts";
import type { CommandContext } from "./context.ts";
import type { pullSpec } from "./pull-options.ts";

function isPullVia(value: string): value is PullVia {
  return (pullVias as readonly string[]).includes(value);
}

// `--modules nf_conntrack,xfs` or `--modules all`.
function moduleWant(value: string): ModuleWant {
  if (value === "all") return "all";
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0)
    throw new ConfigError(`--modules ${JSON.stringify(value)} names no module`, {
      hint: 'give module names as lsmod prints them, comma-separated, or "all"',
    });
  return names;
}

/** When the user runs `btfmill pull --from URL|DIR --out DIR`: exit 0 once every wanted file is verified in place. */
export async function pullCommand(context: CommandContext<typeof pullSpec.options>): Promise<number> {
  const { values } = context;
  const from = values.from;
  const out = values.out;
  if (from === undefined || out === undefined) throw new ConfigError("pull needs --from URL|DIR and --out DIR");
  const emit = values.emit;
  if (emit !== undefined && emit !== "go") throw new ConfigError(`--emit ${emit}: only "go" is supported`);
  const via = values.via ?? "auto";
  if (!isPullVia(via)) throw new ConfigError(`--via ${via}: use ${pullVias.join(", ")}`);
  const summary = await pull({
    from,
    out: resolve(out),
    set: values.set,
    distro: values.distro,
    release: values.release,
    arch: values.arch,
    via,
    ...(values.modules === undefined ? {} : { modules: moduleWant(values.modules) }),
    publicKey: values["public-key"],
    emitGo: emit === "go" ? { packageName: values["go-package"] ?? "btfs" } : undefined,
  });
  const { index } = summary;
  if (values.json) {
    context.stdout(
      JSON.stringify(
        {
          downloaded: summary.downloaded,
          unchanged: summary.unchanged,
          removed: summary.removed,
          bytes: summary.bytes,
          bundles: summary.bundles,
          fromBundles: summary.fromBundles,
        },
        null,
        2,
      ),
    );
  } else {
    context.stderr(
      `pulled set ${index.set} into ${resolve(out)}: ${summary.downloaded} downloaded (${summary.fromBundles} from ${summary.bundles} bundle(s); ${summary.bytes} bytes), ${summary.unchanged} unchanged, ${summary.removed} removed; ` +
        `${Object.keys(index.kernels).length} kernels with BTF, ${index.hasBtf.length} that ship their own, ${Object.keys(index.failed).length} failed` +
        (index.modules === undefined
          ? ""
          : `; modules of ${Object.values(index.modules).filter((record) => record.base !== undefined).length} kernel(s): ${Object.values(index.modules).reduce((n, record) => n + Object.keys(record.files).length, 0)} file(s)`),
    );
  }
  return 0;
}
