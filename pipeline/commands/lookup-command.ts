// `btfmill lookup`: which published BTF this host (or the one described) needs.
import { lookup } from "../../site/lookup-host.ts";
import type { CommandContext } from "./context.ts";
import type { lookupSpec } from "./lookup-options.ts";

/** When the user runs `btfmill lookup`: exit 0 when a file is found or none is needed, 1 otherwise. */
export async function lookupCommand(context: CommandContext<typeof lookupSpec.options>): Promise<number> {
  const { values } = context;
  const result = await lookup({
    from: values.from ?? "btf-site",
    osReleaseFile: values["os-release"],
    kernel: values.kernel,
    arch: values.arch,
    set: values.set,
    publicKey: values["public-key"],
  });
  if (values.json) {
    context.stdout(JSON.stringify(result, null, 2));
  } else if (result.status === "found") {
    context.stdout(result.url!);
    context.stderr(
      `${result.key}: ${result.file.size} bytes, sha256 ${result.file.sha256}${result.note ? ` (${result.note})` : ""}`,
    );
  } else if (result.status === "has-btf") {
    context.stderr(`${result.key}: no file needed: ${result.reason}`);
  } else if (result.status === "failed") {
    context.stderr(`${result.key}: btfmill could not make BTF for this kernel: ${result.reason}`);
  } else {
    context.stderr(`unknown kernel: tried ${result.tried.join(", ")}. ${result.hint}`);
  }
  return result.status === "found" || result.status === "has-btf" ? 0 : 1;
}
