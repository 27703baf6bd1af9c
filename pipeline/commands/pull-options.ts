// `btfmill pull`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";

export const pullSpec = commandSpec({
  name: "pull",
  summary: "bring a folder up to date with a published site's BTF files (for build time)",
  usage: `btfmill pull --from URL|DIR --out DIR [--set S] [--distro D] [--release R] [--arch A] [--via auto|bundle|files] [--modules M,M|all] [--public-key PEM] [--emit go] [--go-package NAME] [--json]

  --from URL|DIR    the published site (its root, where manifest.json is)
  --out DIR         where the files go: <distro>/<release>/<arch>/<kernel>.btf and index.json
  --set S           object set (default: all, what the site root serves)
  --via V           how missing files come: "bundle" takes them from the set's one .tar.xz per
                    arch (bundles/<set>/<arch>.tar.xz), "files" fetches each alone; "auto" (the
                    default) takes the bundle when 32 or more files of an arch are missing and
                    they weigh at least as much as the bundle
  --modules M,M     also fetch these modules' split BTF (lsmod names, or "all") for every kernel
                    pulled whose site has them (published with --full), into
                    <distro>/<release>/<arch>/<kernel>.modules/<module>.btf, with vmlinux.btf
                    there, the kernel's full BTF they are split against
  --public-key PEM  require manifest.json.sig to verify with this Ed25519 public key
  --emit go         also write btf_embed.go (//go:embed and a Lookup function)

Only missing or changed files are downloaded; every file is checked against its sha256, whichever
way it came (a bundle is checked against its own sha256 first).`,
  options: {
    ...commonOptions,
    from: { type: "string" },
    out: { type: "string", short: "o" },
    set: { type: "string" },
    distro: { type: "string" },
    release: { type: "string" },
    arch: { type: "string" },
    via: { type: "string" },
    modules: { type: "string" },
    "public-key": { type: "string" },
    emit: { type: "string" },
    "go-package": { type: "string" },
  },
});
