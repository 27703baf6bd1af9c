// `btfmill publish`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";
import { stateOptions, stateUsage } from "./state-option.ts";

export const publishSpec = commandSpec({
  name: "publish",
  summary: "build the static site (raw BTF per kernel and set, manifest.json, index.html) from the archive",
  usage: `btfmill publish [--config FILE] [--out DIR] [--full] [--key FILE] [--max-bytes N] [--state URL|DIR] [--json]

  --config FILE  config file naming the archive (default: ./btfmill.json, else ./btf-archive)
  --out DIR      the site (default: ./btf-site). publish keeps DIR as a symlink to the current
                 tree and switches it atomically; the previous tree stays beside it as .DIR.gen-*
  --full         also publish BTFHub's full <kernel>.btf.tar.xz under full/
  --key FILE     PEM Ed25519 private key: write manifest.json.sig and manifest.pub.pem
                 (make one with: openssl genpkey -algorithm ed25519 -out key.pem)
  --max-bytes N   fail before switching the site in when it would pass N bytes (1GB, 500MB ...;
                 default: config site.maxBytes, else 1GB as GitHub Pages allows), naming what
                 takes the room; the published site stays as it was
${stateUsage}
  --json         print what was published as JSON, with the site's size`,
  options: {
    ...commonOptions,
    ...stateOptions,
    out: { type: "string", short: "o" },
    full: { type: "boolean" },
    key: { type: "string" },
    "max-bytes": { type: "string" },
  },
});
