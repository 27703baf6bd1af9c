// `btfmill gen`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";

export const genSpec = commandSpec({
  name: "gen",
  summary: "minify any BPF objects for every kernel a source of full BTF has, registering nothing",
  usage: `btfmill gen --objects A.o [B.o...] --from SRC --out DIR [--distro D] [--release R] [--arch A] [--emit go] [--go-package NAME] [--bundle] [--cache DIR] [--json]

  --from SRC        a btfmill archive folder, a folder in BTFHub's layout (a btfhub-archive
                    clone: <distro>/<release>/<arch>/<kernel>.btf.tar.xz), a btfmill site (URL or
                    folder) published with full BTF, or "btfhub": btfhub-archive over HTTPS (its
                    tree from GitHub's API, each file from its raw URL; --btfhub-api/--btfhub-raw
                    point elsewhere)
  --out DIR         what pull writes: <distro>/<release>/<arch>/<kernel>.btf, index.json (with
                    coverage per kernel and object), and with --emit go btf_embed.go
  --cache DIR       downloads by content (default ~/.cache/btfmill/gen): a second run fetches nothing
  --bundle          also write bundles/gen/<arch>.tar.xz, one solid archive of the files per arch

A kernel whose input and objects did not change since the last run into DIR is not minified
again. Exit 1 when a kernel failed or an object has relocations that do not resolve on it.`,
  options: {
    ...commonOptions,
    objects: { type: "string", multiple: true },
    from: { type: "string" },
    out: { type: "string", short: "o" },
    distro: { type: "string" },
    release: { type: "string" },
    arch: { type: "string" },
    emit: { type: "string" },
    "go-package": { type: "string" },
    cache: { type: "string" },
    bundle: { type: "boolean" },
    "btfhub-api": { type: "string" },
    "btfhub-raw": { type: "string" },
  },
});
