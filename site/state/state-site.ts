// `--state URL|DIR`: a published site as the starting point of a run instead of a local archive.
// Its signed manifest names the root of the archive state it was published from, which names one
// part per source by sha256 (every kernel's package digest, tool versions, full coverage), and
// where each file the archive had is published, so a fresh machine knows what is done and can
// fetch any file it needs by its sha256. Only the parts of the sources a command loads are fetched,
// of the archive state and of the site's manifest alike.
import type { ArchiveFile } from "../../archive/manifest.ts";
import { stateStore, type StateStore } from "../../archive/state.ts";
import type { CdnFile, CdnKernel } from "../cdn-manifest.ts";
import { openSiteManifest } from "../read-manifest.ts";
import { openSite, type SiteSource } from "../site-source.ts";
import { FetchError, FormatError, IntegrityError } from "../../archive/errors.ts";
import { sha256Hex } from "../../archive/file-digest.ts";

export interface StateOptions {
  /** URL of a site, or the folder of one (a published tree or a pull of it). */
  from: string;
  /** PEM Ed25519 public key: the site's manifest must be signed with its private half. */
  publicKey?: string | undefined;
}

export interface StateSite {
  origin: string;
  /** The archive state the site was published from: its root, and its parts fetched on demand, each checked by sha256. */
  store: StateStore;
  /**
   * Where the site publishes a file with this content, if it does, among the sources loaded so far
   * (a source's part of `store` read, or `loadSources`).
   */
  published(file: ArchiveFile): CdnFile | undefined;
  /** When a command works on sources whose state it did not read from `store`: reads where their files are published. */
  loadSources(sources: readonly string[]): Promise<void>;
  /** The file's bytes from the site, checked against its sha256 and size. */
  read(file: ArchiveFile, signal?: AbortSignal): Promise<Buffer>;
}

const maxArchiveManifestBytes = 1024 * 1024 * 1024;
const maxFileBytes = 512 * 1024 * 1024;

// Minified files are content-addressed in the archive, and one file may serve several kernels and
// sets on the site: any of its published paths will do.
function addPublished(byDigest: Map<string, CdnFile>, kernels: readonly CdnKernel[]): void {
  for (const kernel of kernels) {
    const { root, sets, full, modules } = kernel.files;
    for (const file of [root, full, modules, ...Object.values(sets)])
      if (file && !byDigest.has(file.sha256)) byDigest.set(file.sha256, file);
  }
}

/** When a command is given `--state`: the site's verified manifests and a reader for its files. */
export async function openState(options: StateOptions, signal?: AbortSignal): Promise<StateSite> {
  const site: SiteSource = openSite(options.from);
  const cdn = await openSiteManifest(site, { publicKey: options.publicKey, signal });
  const ref = cdn.root.archiveManifest;
  if (ref === undefined) {
    throw new FormatError(
      `${site.locate("manifest.json")} names no archive manifest: it cannot serve as a run's state`,
      {
        package: site.origin,
        hint: "publish the site again with this btfmill version, or start from a local archive",
      },
    );
  }
  const bytes = await site.read(ref.path, maxArchiveManifestBytes, signal);
  if (sha256Hex(bytes) !== ref.sha256) {
    throw new IntegrityError(`${site.locate(ref.path)} does not match the sha256 its site's manifest gives`, {
      package: site.origin,
      hint: "the site is being republished or was altered: retry",
    });
  }
  const seed = stateStore(
    bytes.toString("utf8"),
    site.locate(ref.path),
    "republish the site with btfmill publish",
    // Parts are named relative to the root's folder, which is the site's root.
    (path, size) => site.read(path, Math.min(maxArchiveManifestBytes, size), signal),
  );
  const byDigest = new Map<string, CdnFile>();
  const loaded = new Map<string, Promise<void>>();
  const loadSources = async (sources: readonly string[]) => {
    const wanted = sources.filter((source) => !loaded.has(source));
    if (wanted.length > 0) {
      const ids = new Set(wanted);
      const reading = cdn
        .kernels((key) => ids.has(`${key.distro}/${key.release}/${key.arch}`), signal)
        .then((kernels) => addPublished(byDigest, kernels));
      for (const source of wanted) loaded.set(source, reading);
    }
    await Promise.all(sources.map((source) => loaded.get(source)));
  };
  // A source's kernels taken from the site need to know where the site publishes their files.
  const store: StateStore = {
    ...seed,
    readPart: async (source) => {
      const [entries] = await Promise.all([seed.readPart(source), loadSources([source])]);
      return entries;
    },
  };
  const published = (file: ArchiveFile) => {
    const found = byDigest.get(file.sha256);
    return found?.size === file.size ? found : undefined;
  };
  return {
    origin: site.origin,
    store,
    published,
    loadSources,
    async read(file, readSignal) {
      const at = published(file);
      if (at === undefined)
        throw new IntegrityError(`${site.origin} does not publish ${file.path} (sha256 ${file.sha256})`, {
          package: site.origin,
        });
      const content = await site.read(at.path, Math.min(maxFileBytes, at.size), readSignal);
      if (content.length !== file.size || sha256Hex(content) !== file.sha256) {
        // A FetchError, so a kernel that needed it is retried next run: a republish in progress is the likely cause.
        throw new FetchError(
          `${site.locate(at.path)} does not have the sha256 ${file.sha256} the state names for ${file.path}`,
          {
            package: site.locate(at.path),
            hint: "the site is being republished or was altered: retry",
          },
        );
      }
      return content;
    },
  };
}
