// `btfmill toolchain`: installs the pinned converter tools and says what is installed.
import { resolve } from "node:path";
import { loadConfig } from "../config.ts";
import { installToolchain } from "../toolchain/install.ts";
import type { CommandContext } from "./context.ts";
import type { toolchainSpec } from "./toolchain-options.ts";

/** When the user (or `make setup`) runs `btfmill toolchain`. */
export async function toolchainCommand(context: CommandContext<typeof toolchainSpec.options>): Promise<number> {
  const config = await loadConfig(context.values.config);
  const dir = context.values.dir === undefined ? config.toolchain.dir : resolve(context.values.dir);
  const { record, downloaded } = await installToolchain({
    dir,
    mirrors: config.toolchain.mirror,
    keyring: config.toolchain.keyring,
    onPackage: context.values.json
      ? undefined
      : (name, action) => action === "download" && context.stderr(`downloading ${name}`),
  });
  if (context.values.json) {
    context.stdout(JSON.stringify({ dir, ...record, downloaded }, null, 2));
    return 0;
  }
  context.stdout(
    `${record.tools.pahole.version.replace(/^v/, "pahole ")}, ${record.tools.bpftool.version} from Debian ${record.suite} in ${record.root}`,
  );
  context.stdout(
    downloaded.length === 0 ? "already installed: nothing downloaded" : `installed ${downloaded.length} packages`,
  );
  return 0;
}
