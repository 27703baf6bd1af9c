// The config file (`btfmill.json` by default): validated up front so that a typo is reported
// with its path in the file, not discovered halfway through a run.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import type { SourceConfig } from "../distros/types.ts";
import { ConfigError } from "../archive/errors.ts";
import { sha256Pattern } from "../archive/file-digest.ts";
import { arches } from "../archive/kernel-key.ts";
import { unionSetName } from "../archive/manifest.ts";
import { defaultToolchainDir } from "./toolchain/installed.ts";

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const sourceSchema = z
  .strictObject({
    distro: z.string().regex(/^[a-z][a-z0-9-]*$/, "must be an os-release ID such as debian"),
    release: z.string().regex(/^[0-9a-z.]+$/, "must be an os-release VERSION_ID such as 12"),
    arch: z.enum(arches, { error: `must be ${arches.map((arch) => JSON.stringify(arch)).join(" or ")}` }),
    flavors: z.array(z.string().min(1)).min(1).optional(),
    mirror: z.union([httpUrl, z.array(httpUrl).min(1)]).optional(),
    suites: z.array(z.string().min(1)).min(1).optional(),
    keyring: z.string().min(1).optional(),
    latest: z.int().positive().optional(),
    insecure: z.boolean().optional(),
    checkValidUntil: z.boolean().optional(),
    kernelsWithBtf: z.enum(["first", "all", "own"], { error: 'must be "first", "all" or "own"' }).optional(),
    proposed: z.boolean().optional(),
    /** Kernel modules whose split BTF is made beside each kernel's: names as lsmod prints them, or "all". */
    modules: z
      .union([
        z.literal("all"),
        z
          .array(z.string().regex(/^[A-Za-z0-9_-]+$/, "must be a module name as lsmod prints it, such as nf_conntrack"))
          .min(1),
      ])
      .optional(),
  })
  // `proposed` picks among Ubuntu's default suites: with another distro, or beside a `suites` list, it would do nothing.
  .superRefine((source, context) => {
    if (source.proposed === undefined) return;
    if (source.distro !== "ubuntu") {
      context.addIssue({ code: "custom", path: ["proposed"], message: "is an Ubuntu setting (its -proposed suite)" });
    } else if (source.suites !== undefined) {
      context.addIssue({
        code: "custom",
        path: ["proposed"],
        message: "does nothing beside `suites`: leave the -proposed suite out of that list instead",
      });
    }
  });

const paholeSchema = z.strictObject({
  /** Replaces the flags btfmill chooses per kernel (the detached output flag is always added). */
  flags: z.array(z.string().startsWith("-")).optional(),
  /** Added to the flags btfmill chooses. */
  extraFlags: z.array(z.string().startsWith("-")).optional(),
  /** pahole's `-j`: "auto" (the cores free when it starts) or a count; above 1 only for pahole >= 1.29. */
  threads: z.union([z.literal("auto"), z.int().min(1).max(256)]).optional(),
});

/** Where the converter tools come from (pipeline/toolchain/): the pinned ones, or the host's. */
const toolchainSchema = z.strictObject({
  /** The folder `btfmill toolchain` installs into (default: $XDG_CACHE_HOME/btfmill/toolchain). */
  dir: z.string().min(1).optional(),
  /** Debian mirror base URL(s) for the pinned packages (default: the machine's apt sources). */
  mirror: z.union([httpUrl, z.array(httpUrl).min(1)]).optional(),
  /** Keyring for that mirror's InRelease (default: debian-archive-keyring). */
  keyring: z.string().min(1).optional(),
  /** A host pahole (a command on PATH or a path) instead of the pinned one. */
  pahole: z.string().min(1).optional(),
  /** A host bpftool instead of the pinned one. */
  bpftool: z.string().min(1).optional(),
  /** Convert again the kernels an earlier toolchain converted (default: leave them as they are). */
  reconvert: z.boolean().optional(),
});

const sha256Hex = z.string().regex(sha256Pattern, "must be a lowercase hex sha256");

/** A registered BPF object: a local path (optionally pinned), or a URL that must be pinned. */
const objectSchema = z.union([
  z.string().min(1),
  z.strictObject({ path: z.string().min(1), sha256: sha256Hex.optional() }),
  z.strictObject({ url: httpUrl, sha256: sha256Hex }),
]);

const positiveMs = z.int().positive();

/** Network knobs (distros/net/http-settings.ts); anything left out keeps its default. */
const httpSchema = z.strictObject({
  connectTimeoutMs: positiveMs.optional(),
  headersTimeoutMs: positiveMs.optional(),
  idleTimeoutMs: positiveMs.optional(),
  connectionsPerHost: z.int().min(1).max(64).optional(),
  retry: z
    .strictObject({
      attempts: z.int().min(1).max(20).optional(),
      baseDelayMs: positiveMs.optional(),
      maxDelayMs: positiveMs.optional(),
      retryAfterCapMs: positiveMs.optional(),
      maxWaitMs: positiveMs.optional(),
    })
    .optional(),
});

export type HttpConfig = z.infer<typeof httpSchema>;

const configSchema = z.strictObject({
  archive: z.string().min(1).default("btf-archive"),
  jobs: z.int().min(1).max(64).default(2),
  sources: z.array(sourceSchema).default([]),
  objects: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/, "set names are letters, digits, _ . -")
        .refine(
          (name) => name !== unionSetName,
          `"${unionSetName}" is the set of every registered object; pick another name`,
        ),
      z.array(objectSchema).min(1),
    )
    .default({}),
  pahole: paholeSchema.default({}),
  toolchain: toolchainSchema.default({}),
  http: httpSchema.default({}),
  /** What publish writes: `maxBytes`, the host's limit on the whole site (default: GitHub Pages' 1 GB). */
  site: z.strictObject({ maxBytes: z.int().positive().optional() }).default({}),
});

export type PaholeConfig = z.infer<typeof paholeSchema>;

/** The toolchain section, with paths resolved against the config's folder. */
export interface ToolchainConfig {
  dir: string;
  mirror: string[] | undefined;
  keyring: string | undefined;
  pahole: string | undefined;
  bpftool: string | undefined;
  reconvert: boolean;
}

/** One registered object after parsing: where to get it and, when pinned, its sha256. */
export type ObjectSource = { path: string; sha256?: string | undefined } | { url: string; sha256: string };

export interface Config {
  /** Absolute path of the archive folder. */
  archive: string;
  jobs: number;
  sources: SourceConfig[];
  objects: Record<string, ObjectSource[]>;
  pahole: PaholeConfig;
  toolchain: ToolchainConfig;
  http: HttpConfig;
  site: { maxBytes: number | undefined };
  /** Where the config came from, for messages. */
  origin: string;
}

/** Built in: the newest Debian 12 cloud kernel, from the mirror the machine's apt sources name. */
export const defaultConfigInput = {
  archive: "btf-archive",
  sources: [{ distro: "debian", release: "12", arch: "x86_64", flavors: ["cloud-amd64"], latest: 1 }],
};

/** When input (parsed JSON) is turned into a Config; relative paths resolve against `baseDir`. */
export function parseConfig(input: unknown, origin: string, baseDir: string): Config {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.length ? issue.path.join(".") : "(top level)"}: ${issue.message}`,
    );
    throw new ConfigError(`${origin} is not a valid config:\n  ${problems.join("\n  ")}`, {
      hint: "see docs/configuration.md",
    });
  }
  const config = parsed.data;
  return {
    archive: resolve(baseDir, config.archive),
    jobs: config.jobs,
    sources: config.sources.map((source) => ({
      ...source,
      mirror: typeof source.mirror === "string" ? [source.mirror] : source.mirror,
      keyring: source.keyring === undefined ? undefined : resolve(baseDir, source.keyring),
    })),
    objects: Object.fromEntries(
      Object.entries(config.objects).map(([name, entries]) => [
        name,
        entries.map((entry): ObjectSource => {
          if (typeof entry === "string") return { path: resolve(baseDir, entry) };
          if ("url" in entry) return entry;
          return { path: resolve(baseDir, entry.path), sha256: entry.sha256 };
        }),
      ]),
    ),
    pahole: config.pahole,
    toolchain: {
      dir: config.toolchain.dir === undefined ? defaultToolchainDir() : resolve(baseDir, config.toolchain.dir),
      mirror: typeof config.toolchain.mirror === "string" ? [config.toolchain.mirror] : config.toolchain.mirror,
      keyring: config.toolchain.keyring === undefined ? undefined : resolve(baseDir, config.toolchain.keyring),
      // A bare name is looked up on PATH; anything with a slash is a path relative to the config.
      pahole: hostTool(config.toolchain.pahole, baseDir),
      bpftool: hostTool(config.toolchain.bpftool, baseDir),
      reconvert: config.toolchain.reconvert ?? false,
    },
    http: config.http,
    site: { maxBytes: config.site.maxBytes },
    origin,
  };
}

function hostTool(name: string | undefined, baseDir: string): string | undefined {
  return name === undefined || !name.includes("/") ? name : resolve(baseDir, name);
}

/**
 * When a command starts: reads `--config FILE` (which must exist), else `btfmill.json` in the
 * working directory when there is one, else the built-in defaults.
 */
export async function loadConfig(path: string | undefined, cwd = process.cwd()): Promise<Config> {
  const file = resolve(cwd, path ?? "btfmill.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    if (path === undefined && (cause as NodeJS.ErrnoException).code === "ENOENT") {
      return parseConfig(defaultConfigInput, "built-in defaults", cwd);
    }
    throw new ConfigError(`cannot read config ${file}: ${(cause as Error).message}`, { cause });
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`${file} is not JSON: ${(cause as Error).message}`, { cause, hint: "fix the JSON syntax" });
  }
  return parseConfig(input, file, dirname(file));
}
