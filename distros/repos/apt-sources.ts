// apt's list of repositories, in both formats apt reads (sources.list(5)):
//
//   deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://host/debian bookworm main
//
//   Types: deb
//   URIs: http://host/debian
//   Suites: bookworm bookworm-updates
//   Components: main
//   Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { FormatError } from "../../archive/errors.ts";
import { fieldWords, parseDeb822 } from "./deb822.ts";
import type { Deb822Stanza } from "./deb822.ts";

export type AptSourceType = "deb" | "deb-src";

/** One repository apt reads: a single type and URI (a deb822 stanza with several becomes several). */
export interface AptSource {
  type: AptSourceType;
  /** Base URL without a trailing slash. */
  uri: string;
  suites: string[];
  components: string[];
  /** Signed-By as listed: absolute paths are keyring files, anything else a key fingerprint. */
  signedBy: string[];
  /** An armored key block embedded in a deb822 Signed-By field. */
  signedByKey: string | undefined;
  /** Architectures the entry is limited to; empty means all. */
  architectures: string[];
  /** The file it came from, for messages. */
  file: string;
}

const TYPES: readonly string[] = ["deb", "deb-src"];
const DISABLED = new Set(["no", "false", "without", "off", "disable"]);
const KEY_BLOCK = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

/** When a `.list` file is read: one entry per `deb`/`deb-src` line. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const sources: AptSource[] = [];
  text.split("\n").forEach((raw, index) => {
    const hash = raw.indexOf("#");
    const line = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    if (line === "") return;
    const where = `${file} line ${index + 1}`;
    const match = /^([^\s[]+)\s*(?:\[([^\]]*)\])?\s*(.*)$/.exec(line);
    const type = match?.[1];
    if (type === undefined || !TYPES.includes(type)) {
      throw new FormatError(`${where}: unknown source type ${JSON.stringify(type ?? line)}`, {
        hint: "each line must start with deb or deb-src",
      });
    }
    const options = parseOptions(match?.[2] ?? "", where);
    const [uri, suite, ...components] = (match?.[3] ?? "").split(/\s+/).filter((word) => word !== "");
    if (uri === undefined || suite === undefined) {
      throw new FormatError(`${where}: expected "${type} [options] uri suite [component...]"`, {
        hint: "fix the line or comment it out",
      });
    }
    sources.push({
      type: type as AptSourceType,
      uri: trimSlash(uri),
      suites: [suite],
      components,
      signedBy: splitList(options.get("signed-by")),
      signedByKey: undefined,
      architectures: splitList(options.get("arch")),
      file,
    });
  });
  return sources;
}

/** When a `.sources` file is read: one entry per enabled stanza, type and URI. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  return parseDeb822(text, file).flatMap((stanza) => sourcesOfStanza(stanza, file));
}

/** When the Debian source needs the machine's mirrors: every entry apt would read under `root`. */
export async function loadAptSources(root = "/"): Promise<AptSource[]> {
  const listFile = join(root, "etc/apt/sources.list");
  const partsDir = join(root, "etc/apt/sources.list.d");
  const sources = parseOneLineSources((await readIfPresent(listFile)) ?? "", listFile);
  // apt reads the parts in alphanumeric order and ignores other extensions (.disabled, .save).
  const parts = ((await readdirIfPresent(partsDir)) ?? []).sort();
  for (const part of parts) {
    const path = join(partsDir, part);
    if (part.endsWith(".list")) sources.push(...parseOneLineSources((await readIfPresent(path)) ?? "", path));
    if (part.endsWith(".sources")) sources.push(...parseDeb822Sources((await readIfPresent(path)) ?? "", path));
  }
  return sources;
}

function sourcesOfStanza(stanza: Deb822Stanza, file: string): AptSource[] {
  if (DISABLED.has((stanza.get("enabled") ?? "yes").toLowerCase())) return [];
  const types = fieldWords(stanza, "types");
  const uris = fieldWords(stanza, "uris");
  const suites = fieldWords(stanza, "suites");
  if (types.length === 0 || uris.length === 0 || suites.length === 0) {
    throw new FormatError(`${file}: a stanza lacks Types, URIs or Suites`, {
      hint: "every enabled stanza needs all three (sources.list(5))",
    });
  }
  const unknown = types.find((type) => !TYPES.includes(type));
  if (unknown !== undefined) {
    throw new FormatError(`${file}: unknown source type ${JSON.stringify(unknown)}`, {
      hint: "Types must be deb or deb-src",
    });
  }
  const signedBy = stanza.get("signed-by") ?? "";
  const embedded = signedBy.includes(KEY_BLOCK);
  return types.flatMap((type) =>
    uris.map((uri) => ({
      type: type as AptSourceType,
      uri: trimSlash(uri),
      suites,
      components: fieldWords(stanza, "components"),
      signedBy: embedded ? [] : splitList(signedBy),
      // Continuation lines of an embedded key keep "." for its blank line (deb822 escaping).
      signedByKey: embedded
        ? `${signedBy
            .trim()
            .split("\n")
            .map((line) => (line === "." ? "" : line))
            .join("\n")}\n`
        : undefined,
      architectures: fieldWords(stanza, "architectures"),
      file,
    })),
  );
}

function parseOptions(text: string, where: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const option of text.split(/\s+/).filter((word) => word !== "")) {
    const equals = option.indexOf("=");
    if (equals <= 0) {
      throw new FormatError(`${where}: option ${JSON.stringify(option)} is not name=value`, {
        hint: "options look like [arch=amd64 signed-by=/path/to/keyring.gpg]",
      });
    }
    options.set(option.slice(0, equals).toLowerCase(), option.slice(equals + 1));
  }
  return options;
}

function splitList(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(/[\s,]+/).filter((word) => word !== "");
}

function trimSlash(uri: string): string {
  return uri.replace(/\/+$/, "");
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function readdirIfPresent(path: string): Promise<string[] | undefined> {
  try {
    return await readdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
