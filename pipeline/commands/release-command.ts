// `btfmill release save|restore`: the archive as release assets (site/release/).
import { resolve } from "node:path";
import { ConfigError } from "../../archive/errors.ts";
import { isArch } from "../../archive/kernel-key.ts";
import { configureHttp } from "../../distros/net/http-settings.ts";
import { GitHubReleases, gitHubTarget } from "../../site/release/github-releases.ts";
import { restoreFromRelease } from "../../site/release/release-restore.ts";
import { githubMaxAssetBytes, saveToRelease } from "../../site/release/release-save.ts";
import { loadConfig } from "../config.ts";
import { byteSize } from "./byte-size.ts";
import type { CommandContext } from "./context.ts";
import { sourcesWithWork } from "./plan-sources.ts";
import type { releaseSpec } from "./release-options.ts";

/** The sources --source and --sources-from name, or undefined when neither is given. */
async function sourcesAsked(named: string[] | undefined, plan: string | undefined): Promise<string[] | undefined> {
  if (named === undefined && plan === undefined) return undefined;
  for (const source of named ?? []) {
    const [distro, release, arch, ...rest] = source.split("/");
    if (!distro || !release || !isArch(arch) || rest.length > 0) {
      throw new ConfigError(`--source ${source} is not <distro>/<release>/<arch> (e.g. debian/12/x86_64)`);
    }
  }
  return [...new Set([...(named ?? []), ...(plan === undefined ? [] : await sourcesWithWork(plan))])].sort();
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** When the user runs `btfmill release save|restore --repo OWNER/REPO`. */
export async function releaseCommand(context: CommandContext<typeof releaseSpec.options>): Promise<number> {
  const { values } = context;
  const [action, ...extra] = context.positionals;
  if ((action !== "save" && action !== "restore") || extra.length > 0) {
    throw new ConfigError(
      `release takes one action, save or restore${action === undefined ? "" : `, not "${context.positionals.join(" ")}"`}`,
    );
  }
  const config = await loadConfig(values.config);
  configureHttp(config.http);
  const archive = values.archive === undefined ? config.archive : resolve(values.archive);
  const target = gitHubTarget(values.repo);
  const releases = new GitHubReleases(target);
  const tag = values.tag ?? "archive";
  if (action === "save") {
    if (
      values.distro !== undefined ||
      values.release !== undefined ||
      values.arch !== undefined ||
      values.source !== undefined ||
      values["sources-from"] !== undefined
    ) {
      throw new ConfigError(
        "release save saves the whole archive: --distro, --release, --arch, --source and --sources-from are for restore",
      );
    }
    if (values["keep-absent"] === true && values["drop-missing"] === true) {
      throw new ConfigError("--keep-absent keeps the sources the archive lacks, --drop-missing deletes them: pick one");
    }
    if (target.token === undefined) {
      throw new ConfigError("release save needs a token in GH_TOKEN or GITHUB_TOKEN", {
        hint: "in a workflow, set GH_TOKEN to the job's github.token, with permissions contents: write",
      });
    }
    const maxAssetBytes = byteSize("max-asset-bytes", values["max-asset-bytes"]) ?? githubMaxAssetBytes;
    const result = await saveToRelease({
      archive,
      tag,
      releases,
      maxAssetBytes,
      dropMissing: values["drop-missing"] === true,
      keepAbsent: values["keep-absent"] === true,
    });
    if (values.json) context.stdout(JSON.stringify(result, null, 2));
    else {
      context.stdout(
        `saved ${archive} to ${target.repo} release ${tag} as btfmill-index.${result.generation}.json: ${result.parts.length} part(s)`,
      );
      context.stdout(
        `uploaded ${result.uploaded.length} asset(s), ${mib(result.uploadedBytes)}; kept ${result.kept}; deleted ${result.deleted.length}`,
      );
      if (result.keptAbsent.length > 0) {
        context.stdout(`kept the assets of ${result.keptAbsent.length} source(s) the archive lacks the files of`);
      }
      for (const asset of result.uploaded) context.stdout(`  uploaded ${asset.name} (${mib(asset.size)})`);
      for (const name of result.deleted) context.stdout(`  deleted ${name}`);
    }
    return 0;
  }
  if (values["keep-absent"] === true || values["drop-missing"] === true) {
    throw new ConfigError("--keep-absent and --drop-missing are for save");
  }
  const sources = await sourcesAsked(values.source, values["sources-from"]);
  if (sources !== undefined && (values.distro ?? values.release ?? values.arch) !== undefined) {
    throw new ConfigError("restore takes sources by --source/--sources-from or by --distro/--release/--arch, not both");
  }
  const result = await restoreFromRelease({
    archive,
    tag,
    releases,
    filter: { distro: values.distro, release: values.release, arch: values.arch, sources },
  });
  if (values.json) context.stdout(JSON.stringify(result, null, 2));
  else if (result.generation === undefined) {
    context.stdout(
      `${target.repo} has no saved archive (release ${tag}${result.release ? " without an index" : " absent"}): ${archive} starts empty`,
    );
  } else {
    context.stdout(
      `restored ${result.parts.length} part(s) of btfmill-index.${result.generation}.json into ${archive}: ${mib(result.downloadedBytes)}`,
    );
    for (const part of result.parts) context.stdout(`  ${part.id}: ${part.files} files, ${mib(part.size)}`);
  }
  return 0;
}
