// `btfmill toolchain`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";

export const toolchainSpec = commandSpec({
  name: "toolchain",
  summary: "install the pinned converter tools (pahole, bpftool) from Debian packages, checked",
  usage: `btfmill toolchain [--config FILE] [--dir DIR] [--json]

  --dir DIR   where to install (default: config toolchain.dir, else $BTFMILL_TOOLCHAIN_DIR, else
              $XDG_CACHE_HOME/btfmill/toolchain, else ~/.cache/btfmill/toolchain)
  --json      what is installed: the tools' versions, the packages (version, sha256), the folder

Reads the suite's signed InRelease from the Debian mirror (config toolchain.mirror, else the
machine's apt sources), checks it with gpgv against debian-archive-keyring, the Packages index
against its sha256, each .deb against the index's sha256, and unpacks the packages into their
own folder. Run again with the same packages, it downloads nothing but the indexes.`,
  options: { ...commonOptions, dir: { type: "string" } },
});
