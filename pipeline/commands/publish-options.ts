// `btfmill publish`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";
import { stateOptions, stateUsage } from "./state-option.ts";

export const publishSpec = commandSpec({
  name: "publish",
  summary: "build the static site (raw BTF per kernel and set, manifest.json, index.html) from the archive",
  usage: `btfmill publish [--config FILE] [--out DIR] [--full] [--key FILE] [--state URL|DIR] [--json]

  --config FILE  config file naming the archive (default: ./btfmill.json, else ./btf-archive)
  --out DIR      the site (default: ./btf-site). publish keeps DIR as a symlink to the current
                 tree and switches it atomically; the previous tree stays beside it as .DIR.gen-*
  --full         also publish BTFHub's full <kernel>.btf.tar.xz under full/
  --key FILE     PEM Ed25519 private key: write manifest.json.sig and manifest.pub.pem
                 (make one with: openssl genpkey -algorithm ed25519 -out key.pem)
${stateUsage}
  --json         print what was published as JSON`,
  options: {
    ...commonOptions,
    ...stateOptions,
    out: { type: "string", short: "o" },
    full: { type: "boolean" },
    key: { type: "string" },
  },
});
