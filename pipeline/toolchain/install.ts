// `btfmill toolchain`: installs the pinned converter tools (pins.ts) from the Debian mirror into a
// cache folder, each package checked through the same apt chain as the kernels: the suite's
// InRelease verified with gpgv against the keyring, the Packages index against the Release's
// sha256, each .deb against the index's sha256; then unpacked with btfmill's own deb reader.
// A second install with the same packages downloads only the indexes.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { access, mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { findSuite, readPackages, type AptRepository } from "../../distros/repos/apt.ts";
import { loadAptSources } from "../../distros/repos/apt-sources.ts";
import { compareDebianVersions, parseDebianVersion } from "../../distros/repos/deb-version.ts";
import type { PackageRecord } from "../../distros/repos/packages-index.ts";
import { unpackDeb } from "../../distros/packages/deb-unpack.ts";
import { ConfigError, FetchError, IntegrityError } from "../../archive/errors.ts";
import { readSized } from "../../distros/net/http.ts";
import { readInstalled, writeInstalled, type InstalledToolchain, type ToolchainPackage } from "./installed.ts";
import { pinnedHost, pinnedTools, toolchainPackages, toolchainSuite } from "./pins.ts";
import { probeToolchain } from "./probe.ts";

export interface InstallOptions {
  /** The cache folder (installed.ts, defaultToolchainDir). */
  dir: string;
  /** Debian mirror base URLs; by default the machine's apt sources that list a Debian suite. */
  mirrors?: readonly string[] | undefined;
  /** Keyring for the suite's InRelease (default: debian-archive-keyring). */
  keyring?: string | undefined;
  /** Root whose /etc/apt gives the default mirrors (tests point it elsewhere). */
  aptRoot?: string;
  signal?: AbortSignal;
  /** Told about each package as it is fetched or found present. */
  onPackage?: (name: string, action: "download" | "present") => void;
}

export interface InstallResult {
  record: InstalledToolchain;
  /** Packages downloaded by this install (empty when the same packages were installed already). */
  downloaded: string[];
}

const defaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
// The index names every package's size; nothing in the toolchain comes near this.
const maxPackageBytes = 256 * 1024 * 1024;

/** When `btfmill toolchain` runs: the pinned packages, installed (or found installed) under `options.dir`. */
export async function installToolchain(options: InstallOptions): Promise<InstallResult> {
  const host = pinnedHost();
  const installed = await installDebianPackages({
    dir: options.dir,
    repositories: await toolchainRepositories(options),
    suite: toolchainSuite,
    debArch: host.debArch,
    packages: toolchainPackages,
    signal: options.signal,
    onPackage: options.onPackage,
    check: checkPins,
  });
  const packages: ToolchainPackage[] = installed.records.map((record) => ({
    name: record.package,
    version: record.version,
    architecture: record.architecture,
    sha256: record.sha256,
    size: record.size,
  }));
  const previous = await readInstalled(options.dir);
  const tools = await probeToolchain(installed.root);
  const record: InstalledToolchain = { suite: toolchainSuite, tools, packages, root: installed.root };
  if (installed.downloaded.length > 0 || JSON.stringify(previous) !== JSON.stringify(record))
    await writeInstalled(options.dir, record);
  return { record, downloaded: installed.downloaded };
}

// The suite must offer each pinned tool at its minimum version or newer.
function checkPins(chosen: readonly PackageRecord[]): void {
  for (const [tool, pin] of Object.entries(pinnedTools)) {
    const record = chosen.find((candidate) => candidate.package === pin.package)!;
    const upstream = /^(\d+)\.(\d+)/.exec(parseDebianVersion(record.version).upstream);
    if (
      upstream === null ||
      Number(upstream[1]) * 1000 + Number(upstream[2]) < pin.minimum.major * 1000 + pin.minimum.minor
    ) {
      throw new IntegrityError(
        `${toolchainSuite} offers ${tool} in ${record.package} ${record.version}, below the pinned ${pin.minimum.major}.${pin.minimum.minor}`,
        {
          package: record.package,
          hint: "the mirror's suite is older than btfmill expects: use a current Debian mirror",
        },
      );
    }
  }
}

export interface DebianPackagesRequest {
  /** Cache folder: the packages unpack into `<dir>/<id>/root`, `id` from their names, versions and sha256s. */
  dir: string;
  /** Mirrors to read the suite from, the first that has it. */
  repositories: readonly AptRepository[];
  suite: string;
  /** Debian's name for the architecture (`amd64`); `all` packages are taken too. */
  debArch: string;
  packages: readonly string[];
  signal?: AbortSignal | undefined;
  onPackage?: ((name: string, action: "download" | "present") => void) | undefined;
  /** Throws when the chosen packages will not do, before anything is downloaded. */
  check?: (chosen: readonly PackageRecord[]) => void;
}

export interface InstalledPackages {
  /** The folder the packages are unpacked in. */
  root: string;
  /** The newest record of each package, in the order asked. */
  records: PackageRecord[];
  /** Packages downloaded by this call (empty when the same packages were unpacked already). */
  downloaded: string[];
}

/**
 * When btfmill or a test needs Debian packages: the newest of each in `suite`, through the same
 * apt chain as the kernels (InRelease verified, Packages index and each .deb checked against
 * signed sha256s), unpacked with btfmill's own deb reader; found in place when already there.
 */
export async function installDebianPackages(request: DebianPackagesRequest): Promise<InstalledPackages> {
  const suite = await findSuite(request.repositories, request.suite, request.signal);
  const wanted = new Set(request.packages);
  const records = await readPackages(suite, "main", request.debArch, {
    accept: (name) => wanted.has(name),
    signal: request.signal,
  });
  const chosen = request.packages.map((name) =>
    newest(records, name, request.suite, request.debArch, suite.repository.base),
  );
  request.check?.(chosen);
  const id = createHash("sha256")
    .update(
      chosen
        .map((record) => `${record.package} ${record.version} ${record.sha256}\n`)
        .sort()
        .join(""),
    )
    .digest("hex")
    .slice(0, 16);
  const folder = join(request.dir, id);
  const root = join(folder, "root");
  const present = await access(root).then(
    () => true,
    () => false,
  );
  const downloaded: string[] = [];
  if (!present) {
    await mkdir(request.dir, { recursive: true });
    const temp = join(request.dir, `.${id}.${randomBytes(4).toString("hex")}.tmp`);
    try {
      await mkdir(join(temp, "root"), { recursive: true });
      for (const record of chosen) {
        request.onPackage?.(record.package, "download");
        const deb = join(temp, `${record.package}.deb`);
        await downloadChecked(`${suite.repository.base}/${record.filename}`, record, deb, request.signal);
        await unpackDeb(createReadStream(deb), join(temp, "root"), record.package);
        await rm(deb);
        downloaded.push(record.package);
      }
      // Another install of the same packages may have finished first: its folder is as good.
      await rename(temp, folder).catch(async (error: unknown) => {
        if (
          !(await access(root).then(
            () => true,
            () => false,
          ))
        )
          throw error;
      });
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  } else {
    for (const record of chosen) request.onPackage?.(record.package, "present");
  }
  return { root, records: chosen, downloaded };
}

// The config's mirrors, else every machine apt entry that lists one of Debian's own suites (the
// security archive, on its own base URL, does not carry the point release).
async function toolchainRepositories(options: InstallOptions): Promise<AptRepository[]> {
  const keyring = options.keyring ?? defaultKeyring;
  const repository = (base: string, key = keyring): AptRepository => ({
    base: base.replace(/\/+$/, ""),
    keyring: key,
    checkValidUntil: true,
  });
  if (options.mirrors !== undefined && options.mirrors.length > 0)
    return options.mirrors.map((base) => repository(base));
  const entries = (await loadAptSources(options.aptRoot ?? "/")).filter(
    (entry) =>
      entry.type === "deb" &&
      entry.suites.some((suite) =>
        /^(?:bullseye|bookworm|trixie|forky|stable|oldstable|testing|unstable|sid)(?:-updates|-backports)?$/.test(
          suite,
        ),
      ),
  );
  if (entries.length === 0) {
    throw new ConfigError(`no Debian mirror in the apt sources under ${options.aptRoot ?? "/"}`, {
      hint: "set toolchain.mirror in the config to a Debian mirror's base URL",
    });
  }
  return [...new Set(entries.map((entry) => entry.uri))].map((base) => {
    const signedBy = entries.find((entry) => entry.uri === base)?.signedBy.find((item) => item.startsWith("/"));
    return repository(base, options.keyring ?? signedBy ?? keyring);
  });
}

function newest(
  records: readonly PackageRecord[],
  name: string,
  suite: string,
  arch: string,
  base: string,
): PackageRecord {
  const candidates = records.filter(
    (record) => record.package === name && (record.architecture === arch || record.architecture === "all"),
  );
  const best = candidates.sort((a, b) => compareDebianVersions(b.version, a.version))[0];
  if (best === undefined) {
    throw new FetchError(`${suite}/main/binary-${arch} at ${base} lists no ${name}`, {
      package: name,
      hint: "use a complete Debian mirror",
    });
  }
  return best;
}

// The .deb to `output`, refused unless it is exactly the bytes the signed index lists.
async function downloadChecked(
  url: string,
  record: PackageRecord,
  output: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (record.size > maxPackageBytes) {
    throw new IntegrityError(`${url} is listed at ${record.size} bytes, over the limit of ${maxPackageBytes}`, {
      package: record.package,
    });
  }
  await readSized(url, record.size, { signal }, async ({ chunks }) => {
    const hash = createHash("sha256");
    const file = await open(output, "w");
    let bytes = 0;
    try {
      for await (const chunk of chunks) {
        bytes += chunk.length;
        if (bytes > record.size) break;
        hash.update(chunk);
        await file.write(chunk);
      }
    } finally {
      await file.close();
    }
    const digest = hash.digest("hex");
    if (bytes !== record.size || digest !== record.sha256) {
      throw new IntegrityError(
        `${url} is ${bytes} bytes with sha256 ${digest}; the signed index says ${record.size} bytes, ${record.sha256}`,
        {
          package: record.package,
          hint: "the mirror is mid-sync or corrupt: retry later or use another mirror",
        },
      );
    }
  });
}
