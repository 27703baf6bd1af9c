// `btfmill <command> [options]`: argument parsing and exit codes; the work is in commands/.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { BtfmillError, describeError } from "../archive/errors.ts";
import type { CommandContext } from "./commands/context.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

// Each command's modules load when it runs: `pull` need not load what `run` needs (undici aside,
// the distro readers, zod schemas, send's MIME table), which is most of a start.
interface Command {
  summary: string;
  usage: string;
  options: Options;
  run: (context: CommandContext) => Promise<number>;
}

const common: Options = {
  config: { type: "string", short: "c" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

// Where a command's archive starts from when the local folder is not the whole of it.
const stateOptions: Options = {
  state: { type: "string" },
  "state-public-key": { type: "string" },
};
const stateUsage = `  --state URL|DIR  start from a published site (its archive-manifest.json) instead of only the
                   local archive: kernels it has are not redone, and files the local archive lacks
                   (minified BTF, full/ tarballs) are fetched from it by sha256 when needed
  --state-public-key PEM  require the site's manifest.json.sig to verify with this key`;

// What `run` and `plan` both take: which sources, kernels and share of the work.
const workSelection: Options = {
  distro: { type: "string" },
  release: { type: "string" },
  arch: { type: "string" },
  flavor: { type: "string" },
  latest: { type: "string" },
  shard: { type: "string" },
  "retry-failed": { type: "boolean" },
};

const commands: Record<string, Command> = {
  run: {
    summary: "find new debug kernels, convert them to BTF, verify and archive them",
    usage: `btfmill run [--config FILE] [--distro D] [--release R] [--arch A] [--flavor F] [--latest N] [--jobs N] [--retry-failed] [--reconvert] [--shard I/N] [--json]

  --config FILE    config file (default: ./btfmill.json, else built-in defaults:
                   newest Debian 12 cloud-amd64 kernel, archive in ./btf-archive)
  --distro D       only sources of this os-release ID (debian)
  --release R      only sources of this VERSION_ID (12)
  --arch A         only x86_64 or arm64
  --flavor F       only this flavor (cloud-amd64)
  --latest N       only the N newest kernels per flavor
  --jobs N         kernels converted at once (default: config "jobs", 2); above 1, one
                   more kernel downloads meanwhile
  --retry-failed   also retry kernels that failed for a lasting reason
  --reconvert      also convert again the kernels another toolchain (pahole version or package)
                   converted; without it they keep their BTF (config: toolchain.reconvert)
  --shard I/N      only the I-th of N deterministic shares of the work (flavor chains), for a CI matrix
${stateUsage}
  --json           print the run summary as JSON on stdout

Exit code 0 only when every kernel and every source succeeded.`,
    options: {
      ...common,
      ...workSelection,
      ...stateOptions,
      jobs: { type: "string", short: "j" },
      reconvert: { type: "boolean" },
    },
    run: async (context) => (await import("./commands/run-command.ts")).runCommand(context),
  },
  toolchain: {
    summary: "install the pinned converter tools (pahole, bpftool) from Debian packages, checked",
    usage: `btfmill toolchain [--config FILE] [--dir DIR] [--json]

  --dir DIR   where to install (default: config toolchain.dir, else $BTFMILL_TOOLCHAIN_DIR, else
              $XDG_CACHE_HOME/btfmill/toolchain, else ~/.cache/btfmill/toolchain)
  --json      what is installed: the tools' versions, the packages (version, sha256), the folder

Reads the suite's signed InRelease from the Debian mirror (config toolchain.mirror, else the
machine's apt sources), checks it with gpgv against debian-archive-keyring, the Packages index
against its sha256, each .deb against the index's sha256, and unpacks the packages into their
own folder. Run again with the same packages, it downloads nothing but the indexes.`,
    options: { ...common, dir: { type: "string" } },
    run: async (context) => (await import("./commands/toolchain-command.ts")).toolchainCommand(context),
  },
  plan: {
    summary: "show what run would do (new, changed, retried, skipped, to minify) without downloading packages",
    usage: `btfmill plan [--config FILE] [--distro D] [--release R] [--arch A] [--flavor F] [--latest N] [--shard I/N] [--retry-failed] [--state URL|DIR] [--json]

  Takes run's options; missing-file means the kernel's full BTF is neither in the archive nor on the state site.
${stateUsage}`,
    options: {
      ...common,
      ...workSelection,
      ...stateOptions,
    },
    run: async (context) => (await import("./commands/plan-command.ts")).planCommand(context),
  },
  merge: {
    summary: "combine archives (shard results) into one archive and manifest",
    usage: `btfmill merge ARCHIVE... --out DIR [--json]

  Every kernel of every input is kept; when several inputs have the same kernel, the entry with
  the better status (ok > skipped > failed), then the later update, then the earlier input wins.
  Files are copied with their sha256 checked; an existing archive in DIR is merged in first.
  With --state, a file an input lacks may be one the site publishes (the input's run started
  from it): it stays there, and later commands given the same --state fetch it.
${stateUsage}`,
    options: { ...common, ...stateOptions, out: { type: "string", short: "o" } },
    run: async (context) => (await import("./commands/merge-command.ts")).mergeCommand(context),
  },
  coverage: {
    summary: "show which registered objects' CO-RE relocations do not resolve on which kernels",
    usage: `btfmill coverage [--config FILE] [--set S] [--json]

  --set S    the object set (default: all, the union of every registered object)
  --json     the coverage records as JSON`,
    options: { ...common, set: { type: "string" } },
    run: async (context) => (await import("./commands/coverage-command.ts")).coverageCommand(context),
  },
  publish: {
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
    options: { ...common, ...stateOptions, out: { type: "string", short: "o" }, full: { type: "boolean" }, key: { type: "string" } },
    run: async (context) => (await import("./commands/publish-command.ts")).publishCommand(context),
  },
  serve: {
    summary: "serve a published site over HTTP for local use and tests",
    usage: `btfmill serve [DIR] [--port P] [--host H]

  DIR        the site to serve (default: ./btf-site)
  --port P   port (default: 8080; 0 picks a free one)
  --host H   address to listen on (default: 127.0.0.1)

Serves GET and HEAD with Range, ETag/If-None-Match, the site's _headers, gzip/br for JSON, and a
JSON 404 that says why a kernel's file is missing. Stops on Ctrl-C.`,
    options: { help: { type: "boolean", short: "h" }, port: { type: "string", short: "p" }, host: { type: "string" } },
    run: async (context) => (await import("./commands/serve-command.ts")).serveCommand(context),
  },
  pull: {
    summary: "bring a folder up to date with a published site's BTF files (for build time)",
    usage: `btfmill pull --from URL|DIR --out DIR [--set S] [--distro D] [--release R] [--arch A] [--via auto|bundle|files] [--public-key PEM] [--emit go] [--go-package NAME] [--json]

  --from URL|DIR    the published site (its root, where manifest.json is)
  --out DIR         where the files go: <distro>/<release>/<arch>/<kernel>.btf and index.json
  --set S           object set (default: all, what the site root serves)
  --via V           how missing files come: "bundle" takes them from the set's one .tar.xz per
                    arch (bundles/<set>/<arch>.tar.xz), "files" fetches each alone; "auto" (the
                    default) takes the bundle when 32 or more files of an arch are missing and
                    they weigh at least as much as the bundle
  --public-key PEM  require manifest.json.sig to verify with this Ed25519 public key
  --emit go         also write btf_embed.go (//go:embed and a Lookup function)

Only missing or changed files are downloaded; every file is checked against its sha256, whichever
way it came (a bundle is checked against its own sha256 first).`,
    options: {
      ...common,
      from: { type: "string" },
      out: { type: "string", short: "o" },
      set: { type: "string" },
      distro: { type: "string" },
      release: { type: "string" },
      arch: { type: "string" },
      via: { type: "string" },
      "public-key": { type: "string" },
      emit: { type: "string" },
      "go-package": { type: "string" },
    },
    run: async (context) => (await import("./commands/pull-command.ts")).pullCommand(context),
  },
  gen: {
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
      ...common,
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
    run: async (context) => (await import("./commands/gen-command.ts")).genCommand(context),
  },
  lookup: {
    summary: "print the URL of the BTF a host needs, or say why there is none",
    usage: `btfmill lookup [--from URL|DIR] [--os-release FILE] [--kernel R] [--arch A] [--set S] [--public-key PEM] [--json]

  --from URL|DIR     the published site (default: ./btf-site)
  --os-release FILE  the host's os-release (default /etc/os-release; in a container pass the host's)
  --kernel R         uname -r (default: the running kernel)
  --arch A           x86_64/amd64 or arm64/aarch64 (default: this machine's)

Exit 0 when a file is found or the kernel ships its own BTF; 1 when unknown or failed.`,
    options: {
      ...common,
      from: { type: "string" },
      "os-release": { type: "string" },
      kernel: { type: "string" },
      arch: { type: "string" },
      set: { type: "string" },
      "public-key": { type: "string" },
    },
    run: async (context) => (await import("./commands/lookup-command.ts")).lookupCommand(context),
  },
  list: {
    summary: "list the kernels in the archive's manifest",
    usage: `btfmill list [--config FILE] [--json]`,
    options: common,
    run: async (context) => (await import("./commands/list-command.ts")).listCommand(context),
  },
};

function mainUsage(): string {
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(9)} ${command.summary}`);
  return `usage: btfmill <command> [options]\n\ncommands:\n${lines.join("\n")}\n\n"btfmill <command> --help" for a command's options.`;
}

/** When the process starts: runs one command and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const stdout = (line: string): void => void process.stdout.write(`${line}\n`);
  const stderr = (line: string): void => void process.stderr.write(`${line}\n`);
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    stdout(mainUsage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    stderr(`btfmill: unknown command "${name}"\n\n${mainUsage()}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    stderr(`btfmill ${name}: ${(error as Error).message}\n\nusage: ${command.usage}`);
    return 2;
  }
  if (parsed.values.help) {
    stdout(`usage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run({ values: parsed.values as CommandContext["values"], positionals: parsed.positionals, stdout, stderr });
  } catch (error) {
    stderr(`btfmill ${name}: ${error instanceof BtfmillError ? error.describe() : describeError(error)}`);
    return error instanceof BtfmillError && error.name === "ConfigError" ? 2 : 1;
  }
}
