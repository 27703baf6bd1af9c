// `btfmill release`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";

export const releaseSpec = commandSpec({
  name: "release",
  summary: "save the archive to a GitHub release as one asset per source, or restore it from there",
  usage: `btfmill release save|restore --repo OWNER/REPO [--tag TAG] [--config FILE] [--archive DIR]
                [--distro D] [--release R] [--arch A] [--source ID]... [--sources-from PLAN]
                [--max-asset-bytes N] [--drop-missing] [--keep-absent] [--json]

  save     uploads one asset per source (<distro>_<release>_<arch>-<sha>.tar, cut into .001,
           .002 ... pieces past the asset limit) and one for the state (manifest), only those
           whose sha256 changed since the release's index, then the index
           (btfmill-index.<n>.json), then deletes every asset the index does not name
  restore  downloads the newest index, then the state and the assets of the sources asked for
           (all without filters), each checked against its sha256, into the archive folder;
           with --distro/--release/--arch the manifest keeps only those sources; with --source
           or --sources-from it keeps every source (their files stay on the release)

  --repo OWNER/REPO     the repository (default: $GITHUB_REPOSITORY)
  --tag TAG             the release's tag (default: archive); save creates the release if need be
  --config FILE         config file naming the archive (default: ./btfmill.json, else ./btf-archive)
  --archive DIR         the archive folder, instead of the config's
  --distro D, --release R, --arch A
                        restore only the sources that match
  --source ID           restore this source (<distro>/<release>/<arch>; repeatable) and the whole state
  --sources-from PLAN   restore the sources of the kernels with work in PLAN (btfmill plan --json)
                        and the whole state
  --max-asset-bytes N   save: the largest asset (default: 2GiB - 1, GitHub's limit); 500MB, 1GiB ...
  --drop-missing        save: delete the assets of sources the archive no longer has (without it,
                        a save from an archive lacking a source the release holds is refused)
  --keep-absent         save: a source whose files the archive lacks (restored with --source or
                        --sources-from) keeps its assets, provided its kernels did not change; a
                        source the archive holds every file of is saved from the archive
  --json                print what was saved or restored as JSON

  The token comes from GH_TOKEN or GITHUB_TOKEN (save needs contents: write), the API from
  GITHUB_API_URL (default: https://api.github.com).`,
  options: {
    ...commonOptions,
    repo: { type: "string" },
    tag: { type: "string" },
    archive: { type: "string" },
    distro: { type: "string" },
    release: { type: "string" },
    arch: { type: "string" },
    "max-asset-bytes": { type: "string" },
    source: { type: "string", multiple: true },
    "sources-from": { type: "string" },
    "drop-missing": { type: "boolean" },
    "keep-absent": { type: "boolean" },
  },
});
