// A published site read from where it lives: an http(s) base URL or a local folder (a pulled or
// published tree). Both give the same bytes, so pull and lookup work the same on either.
import { readFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { FetchError } from "../archive/errors.ts";
import { fetchBytes } from "../distros/net/http.ts";

export interface SiteSource {
  /** What the user gave, for messages. */
  origin: string;
  /** The URL or absolute path of `path` in the site, for printing and curl lines. */
  locate(path: string): string;
  read(path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
  /** Like read, but undefined when the site does not have the file. */
  readOptional(path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined>;
}

function httpSite(base: string): SiteSource {
  const root = base.replace(/\/+$/, "");
  const locate = (path: string): string => `${root}/${path.split("/").map(encodeURIComponent).join("/")}`;
  return {
    origin: base,
    locate,
    read: (path, maxBytes, signal) => fetchBytes(locate(path), { maxBytes, signal }),
    readOptional: (path, maxBytes, signal) => fetchBytes(locate(path), { maxBytes, signal, allowMissing: true }),
  };
}

function folderSite(dir: string): SiteSource {
  const root = resolve(dir);
  const locate = (path: string): string => {
    // Manifest paths are relative and checked by its schema; refuse anything that would leave the site anyway.
    if (isAbsolute(path) || path.split("/").includes(".."))
      throw new FetchError(`path ${path} leaves the site ${root}`, { package: path });
    return join(root, path);
  };
  const read = async (path: string, maxBytes: number): Promise<Buffer> => {
    const bytes = await readFile(locate(path)).catch((cause: unknown) => {
      throw new FetchError(`cannot read ${locate(path)}: ${(cause as Error).message}`, { package: path, cause });
    });
    if (bytes.length > maxBytes)
      throw new FetchError(`${locate(path)} is over the limit of ${maxBytes} bytes`, { package: path });
    return bytes;
  };
  return {
    origin: root,
    locate,
    read,
    readOptional: async (path, maxBytes) => {
      try {
        return await read(path, maxBytes);
      } catch (error) {
        if (((error as FetchError).cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return undefined;
        throw error;
      }
    },
  };
}

/** When pull or lookup is given `--from`: the site behind a URL or a folder. */
export function openSite(from: string): SiteSource {
  return /^https?:\/\//.test(from) ? httpSite(from) : folderSite(from);
}
