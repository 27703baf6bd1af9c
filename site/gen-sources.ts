// Where `btfmill gen` finds full BTF: a local btfmill archive, a local folder in BTFHub's layout
// (a btfhub-archive checkout), a btfmill site published with full BTF (URL or folder), or
// btfhub-archive itself over HTTPS (its tree from GitHub's git trees API, each file from its raw
// URL). Each kernel names the digest its bytes must have where the source gives one; remote files
// land in a cache named by that digest, so a second run downloads nothing.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { writeAtomically } from "../archive/atomic-write.ts";
import { sha256Hex } from "../archive/file-digest.ts";
import type { ModulesRecord } from "../archive/manifest.ts";
import { manifestSchemaVersion, readManifest } from "../archive/state.ts";
import { moduleMemberName } from "../archive/layout.ts";
import type { CdnKernel } from "./cdn-manifest.ts";
import { parseKeyPath, type KernelKey } from "../archive/kernel-key.ts";
import { ConfigError, FetchError, IntegrityError } from "../archive/errors.ts";
import { readSiteManifest, type SourceFilter } from "./read-manifest.ts";
import { openSite, type SiteSource } from "./site-source.ts";

/** One kernel's full BTF as a source offers it. */
export interface GenInput {
  key: KernelKey;
  /** BTFHub's `<kernel>.btf.tar.xz`, or raw `.btf`. */
  form: "tarball" | "raw";
  /** What identifies the bytes: `sha256:<hex>`, `git-sha1:<hex>` (btfhub-archive), or `local:<size>:<mtime>` for a file no index vouches for. */
  digest: string;
  /** When the kernel is processed: a local path holding the bytes, fetched into the cache first if remote. */
  fetch(signal?: AbortSignal): Promise<string>;
  /** The kernel's modules the source has, as split BTF against this input's full BTF (btfmill archives and sites). */
  modules?: GenModules;
}

/** One kernel's modules as a source offers them. */
export interface GenModules {
  /** lsmod names, sorted. */
  names: string[];
  /** What identifies the module files together: a changed module set minifies the kernel again. */
  digest: string;
  /** When a kernel's objects need module types: each named module's split BTF as a local file, checked against its sha256, kept in the cache by it. */
  fetch(names: readonly string[], signal?: AbortSignal): Promise<Record<string, string>>;
}

export interface GenSource {
  kind: "archive" | "btfhub-folder" | "site" | "btfhub-https";
  where: string;
  inputs: GenInput[];
  /** Files fetched over the network this run (0 when everything came from the cache). */
  downloads(): number;
}

/** btfhub-archive on GitHub; tests and mirrors point these elsewhere. */
export interface BtfhubEndpoints {
  /** `https://api.github.com/repos/aquasecurity/btfhub-archive` */
  api: string;
  /** `https://raw.githubusercontent.com/aquasecurity/btfhub-archive/main` */
  raw: string;
  ref: string;
}

export const btfhubDefaults: BtfhubEndpoints = {
  api: "https://api.github.com/repos/aquasecurity/btfhub-archive",
  raw: "https://raw.githubusercontent.com/aquasecurity/btfhub-archive/main",
  ref: "main",
};

const maxFileBytes = 256 * 1024 * 1024;
const maxIndexBytes = 512 * 1024 * 1024;
/** When gen starts: what `from` is (`btfhub`, a URL, or a folder) and every kernel it offers. */
export async function openGenSource(
  from: string,
  cacheDir: string,
  options: {
    btfhub?: BtfhubEndpoints | undefined;
    sources?: SourceFilter | undefined;
    signal?: AbortSignal | undefined;
  } = {},
): Promise<GenSource> {
  const { btfhub = btfhubDefaults, sources, signal } = options;
  const counter = { downloads: 0 };
  const cache = new ContentCache(cacheDir, counter);
  const done = (kind: GenSource["kind"], inputs: GenInput[]): GenSource => ({
    kind,
    where: from,
    inputs,
    downloads: () => counter.downloads,
  });
  if (from === "btfhub") return done("btfhub-https", await btfhubHttpsInputs(btfhub, cache, signal));
  if (/^https?:\/\//.test(from)) return done("site", await siteInputs(from, cache, sources, signal));
  const manifest = await readFile(join(from, "manifest.json"), "utf8").then(
    (text) => JSON.parse(text) as { schema?: string; schemaVersion?: number },
    () => undefined,
  );
  if (manifest?.schema !== undefined) return done("site", await siteInputs(from, cache, sources, signal));
  // Schema v1 is an archive not yet migrated: readManifest reads both.
  if (manifest?.schemaVersion === 1 || manifest?.schemaVersion === manifestSchemaVersion)
    return done("archive", await archiveInputs(from, cache));
  return done("btfhub-folder", await btfhubFolderInputs(from));
}

async function archiveInputs(root: string, cache: ContentCache): Promise<GenInput[]> {
  const manifest = await readManifest(root);
  return Object.values(manifest.kernels).flatMap((entry) => {
    const tarball = entry.tarball;
    if (entry.status !== "ok" || tarball === undefined) return [];
    const path = join(root, tarball.path);
    const modules = entry.modules?.tarball === undefined ? undefined : archiveModules(root, entry.modules, cache);
    return [
      {
        key: entry.key,
        form: "tarball" as const,
        digest: `sha256:${tarball.sha256}`,
        fetch: () => checkedLocal(path, tarball.sha256, tarball.size),
        ...(modules === undefined ? {} : { modules }),
      },
    ];
  });
}

// Out of the archive's modules tarball, checked whole first, into the cache by each member's sha256.
function archiveModules(root: string, record: ModulesRecord, cache: ContentCache): GenModules {
  const tarball = record.tarball!;
  const path = join(root, tarball.path);
  let checked: Promise<string> | undefined;
  return {
    names: Object.keys(record.files).sort(),
    digest: `sha256:${tarball.sha256}`,
    fetch: (names, signal) =>
      fetchModules(names, record.files, (name, file) =>
        cache.get(
          `sha256:${file.sha256}`,
          `${moduleMemberName(name)} in ${path}`,
          async () => {
            checked ??= checkedLocal(path, tarball.sha256, tarball.size);
            await checked;
            const member = await execa("tar", ["-xJOf", path, moduleMemberName(name)], {
              encoding: "buffer",
              cancelSignal: signal,
            });
            return Buffer.from(member.stdout);
          },
          file.size,
        ),
      ),
  };
}

// A site lists each module's raw file with its sha256: fetched alone, into the cache by it.
function siteModules(site: SiteSource, kernel: CdnKernel, cache: ContentCache): GenModules | undefined {
  const files = kernel.files.moduleFiles;
  if (files === undefined) return undefined;
  return {
    names: Object.keys(files).sort(),
    digest: `sha256:${sha256Hex(
      Buffer.from(
        Object.entries(files)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([name, file]) => `${name} ${file.sha256}\n`)
          .join(""),
      ),
    )}`,
    fetch: (names, signal) =>
      fetchModules(names, files, (_, file) =>
        cache.get(
          `sha256:${file.sha256}`,
          site.locate(file.path),
          () => site.read(file.path, file.size, signal),
          file.size,
        ),
      ),
  };
}

async function fetchModules<File>(
  names: readonly string[],
  files: Record<string, File>,
  fetchOne: (name: string, file: File) => Promise<string>,
): Promise<Record<string, string>> {
  const unknown = names.filter((name) => files[name] === undefined);
  if (unknown.length > 0) {
    throw new ConfigError(`the source has no split BTF of module(s) ${unknown.join(", ")} for this kernel`, {
      hint: `it has: ${Object.keys(files).sort().join(", ") || "none"}`,
    });
  }
  const paths: Record<string, string> = {};
  for (const name of [...names].sort()) paths[name] = await fetchOne(name, files[name]!);
  return paths;
}

async function checkedLocal(path: string, sha256: string, size: number): Promise<string> {
  const bytes = await readFile(path);
  if (bytes.length !== size || sha256Hex(bytes) !== sha256) {
    throw new IntegrityError(
      `${path} has sha256 ${sha256Hex(bytes)} (${bytes.length} bytes), its manifest says ${sha256} (${size})`,
      {
        package: path,
        hint: "the archive was changed behind btfmill's back: run btfmill run to redo that kernel",
      },
    );
  }
  return path;
}

// <distro>/<release>/<arch>/<kernel>.btf.tar.xz, as btfhub-archive and `btfmill run` lay it out.
async function btfhubFolderInputs(root: string): Promise<GenInput[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch((cause: unknown) => {
    throw new ConfigError(`--from ${root}: cannot read the folder: ${(cause as Error).message}`, {
      hint: "name a btfmill archive, a BTFHub-layout folder, a site, or btfhub",
    });
  });
  const inputs: GenInput[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const relative = join(entry.parentPath, entry.name).slice(root.length).replace(/^\/+/, "");
    const key = keyFromPath(relative);
    if (key === undefined) continue;
    const path = join(root, relative);
    const { size, mtimeMs } = await stat(path);
    inputs.push({ key, form: "tarball", digest: `local:${size}:${Math.trunc(mtimeMs)}`, fetch: async () => path });
  }
  if (inputs.length === 0) {
    throw new ConfigError(`--from ${root}: no <distro>/<release>/<arch>/<kernel>.btf.tar.xz below it`, {
      hint: "name a btfmill archive, a BTFHub-layout folder, a site, or btfhub",
    });
  }
  return inputs;
}

const tarballSuffix = ".btf.tar.xz";

function keyFromPath(path: string): KernelKey | undefined {
  return path.endsWith(tarballSuffix) ? parseKeyPath(path.slice(0, -tarballSuffix.length)) : undefined;
}

// A site's root serves full BTF when it was published with no object set; `--full` adds the tarballs.
// Only the manifest parts of the sources asked for are fetched.
async function siteInputs(
  from: string,
  cache: ContentCache,
  sources: SourceFilter | undefined,
  signal?: AbortSignal,
): Promise<GenInput[]> {
  const site = openSite(from);
  const manifest = await readSiteManifest(site, { sources, signal });
  const inputs = manifest.kernels.flatMap((kernel): GenInput[] => {
    if (kernel.status !== "ok") return [];
    const key = { distro: kernel.distro, release: kernel.release, arch: kernel.arch, kernel: kernel.kernel };
    const file =
      kernel.files.root?.form === "full"
        ? { ...kernel.files.root, form: "raw" as const }
        : kernel.files.full
          ? { ...kernel.files.full, form: "tarball" as const }
          : undefined;
    if (file === undefined) return [];
    const read = () => site.read(file.path, file.size, signal);
    const modules = siteModules(site, kernel, cache);
    return [
      {
        key,
        form: file.form,
        digest: `sha256:${file.sha256}`,
        fetch: () => cache.get(`sha256:${file.sha256}`, site.locate(file.path), read, file.size),
        ...(modules === undefined ? {} : { modules }),
      },
    ];
  });
  if (inputs.length === 0) {
    throw new ConfigError(`${from} publishes no full BTF`, {
      hint: "publish the site with no object set registered (full BTF at the root), or with --full",
    });
  }
  return inputs;
}

interface GitTree {
  truncated?: boolean;
  tree: { path: string; type: string; sha: string; size?: number }[];
}

async function btfhubHttpsInputs(
  endpoints: BtfhubEndpoints,
  cache: ContentCache,
  signal?: AbortSignal,
): Promise<GenInput[]> {
  const url = `${endpoints.api}/git/trees/${encodeURIComponent(endpoints.ref)}?recursive=1`;
  const response = await fetch(url, {
    headers: { accept: "application/vnd.github+json" },
    signal: signal ?? null,
  }).catch((cause: unknown) => {
    throw new FetchError(`${url}: ${(cause as Error).message}`, {
      package: url,
      cause,
      hint: "check the network, or clone btfhub-archive and pass the folder",
    });
  });
  if (!response.ok)
    throw new FetchError(`${url} answered HTTP ${response.status}`, {
      package: url,
      hint: "GitHub rate-limits anonymous API calls: retry later, or pass a btfhub-archive clone",
    });
  const text = await response.text();
  if (text.length > maxIndexBytes) throw new FetchError(`${url} is over ${maxIndexBytes} bytes`, { package: url });
  const tree = JSON.parse(text) as GitTree;
  const files = openSite(endpoints.raw);
  if (tree.truncated) {
    throw new IntegrityError(`${url} answered a truncated tree`, {
      package: url,
      hint: "GitHub truncates trees over 100,000 entries: clone btfhub-archive and pass the folder",
    });
  }
  return tree.tree.flatMap((item): GenInput[] => {
    const key = item.type === "blob" ? keyFromPath(item.path) : undefined;
    if (key === undefined) return [];
    const read = () => files.read(item.path, item.size ?? maxFileBytes, signal);
    return [
      {
        key,
        form: "tarball",
        digest: `git-sha1:${item.sha}`,
        fetch: () => cache.get(`git-sha1:${item.sha}`, files.locate(item.path), read, item.size),
      },
    ];
  });
}

/** Downloads kept by the digest that names them, checked on the way in. */
class ContentCache {
  readonly #dir: string;
  readonly #counter: { downloads: number };

  constructor(dir: string, counter: { downloads: number }) {
    this.#dir = dir;
    this.#counter = counter;
  }

  async get(digest: string, where: string, read: () => Promise<Buffer>, size: number | undefined): Promise<string> {
    const [algorithm, hex] = digest.split(":") as [string, string];
    const path = join(this.#dir, algorithm, hex.slice(0, 2), hex);
    if (
      await stat(path).then(
        (found) => size === undefined || found.size === size,
        () => false,
      )
    )
      return path;
    const bytes = await read();
    this.#counter.downloads += 1;
    const actual = algorithm === "git-sha1" ? gitBlobSha1(bytes) : sha256Hex(bytes);
    if (actual !== hex) {
      throw new IntegrityError(`${where} has ${algorithm} ${actual}, the index says ${hex}`, {
        package: where,
        hint: "the source changed under us or the download was altered: run gen again",
      });
    }
    await mkdir(join(path, ".."), { recursive: true });
    await writeAtomically(path, (temp) => writeFile(temp, bytes));
    return path;
  }
}

/** Git's object id of a blob: sha1 over `blob <size>\0` and the content. */
export function gitBlobSha1(bytes: Buffer): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}
