// Amazon Linux names its repositories through a `mirror.list` per repository (its .repo files'
// `mirrorlist=`): plain text, one repository URL a line, the first one being the one to use, e.g.
// `http://amazonlinux.us-east-1.amazonaws.com/2/core/2.0/x86_64/<hash>` for Amazon Linux 2's
// `.../2/core/latest/x86_64/mirror.list`. Some lists (Amazon Linux 2022's) carry yum's
// `$basearch` for the reader to fill in (falcosecurity/kernel-crawler amazonlinux.py does too).
import { FormatError } from "../../archive/errors.ts";
import { fetchBytes } from "../net/http.ts";

const maxMirrorListBytes = 64 * 1024;

/** A mirror.list as fetched, and the repository it names. */
export interface ResolvedMirrorList {
  /** The repository's base URL, no trailing slash. */
  base: string;
  /** The list's bytes, for the source's index stamp: another list may name another repository. */
  bytes: Buffer;
}

/** When a repository is named by a mirror.list: the repository it names, or undefined when the list is absent. */
export async function resolveMirrorList(
  url: string,
  arch: string,
  signal?: AbortSignal,
): Promise<ResolvedMirrorList | undefined> {
  const bytes = await fetchBytes(url, { maxBytes: maxMirrorListBytes, allowMissing: true, signal });
  if (bytes === undefined) return undefined;
  return { base: parseMirrorList(bytes.toString("utf8"), url, arch), bytes };
}

/** When a mirror.list was downloaded: its first repository URL with `$basearch` filled in, resolved against the list's own URL. */
export function parseMirrorList(text: string, url: string, arch: string): string {
  const first = text
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line !== "" && !line.startsWith("#"));
  if (first === undefined) {
    throw new FormatError(`${url} lists no repository`, {
      hint: "the mirror list is empty: retry later or set `mirror` in the config",
    });
  }
  const filled = first.replace(/\$\{?basearch\}?/g, arch);
  if (filled.includes("$")) {
    throw new FormatError(`${url} names ${JSON.stringify(first)}, with a variable btfmill does not fill in`, {
      hint: "set `mirror` in the config to the repository's base URL",
    });
  }
  let resolved: URL;
  try {
    resolved = new URL(filled, url);
  } catch (cause) {
    throw new FormatError(`${url} names ${JSON.stringify(first)}, which is not a URL`, {
      cause,
      hint: "set `mirror` in the config",
    });
  }
  if (resolved.protocol !== "http:" && resolved.protocol !== "https:") {
    throw new FormatError(`${url} names ${resolved.href}, not an http(s) URL`, { hint: "set `mirror` in the config" });
  }
  return resolved.href.replace(/\/+$/, "");
}
