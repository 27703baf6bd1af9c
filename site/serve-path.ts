// Keeps every request inside the served folder. `send` already refuses `..` after decoding; this
// also resolves symlinks, so a link planted in the tree cannot hand out a file from elsewhere.
import { realpath } from "node:fs/promises";
import { resolve, sep } from "node:path";

export type RequestPath =
  | { kind: "ok" /** Decoded, starting with `/`. */; path: string }
  | { kind: "bad-request" }
  | { kind: "forbidden" };

/** When serve answers a request: decodes its path and checks where it really leads under `root` (already real). */
export async function checkRequestPath(root: string, rawPath: string): Promise<RequestPath> {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { kind: "bad-request" };
  }
  if (path.includes("\0") || !path.startsWith("/")) return { kind: "bad-request" };
  if (path.split(/[/\\]/).includes("..")) return { kind: "forbidden" };
  const target = resolve(root, `.${path}`);
  if (!inside(root, target)) return { kind: "forbidden" };
  const real = await realpath(target).catch(() => undefined);
  // A missing file is send's 404 to give; an existing one must really be under root.
  if (real !== undefined && !inside(root, real)) return { kind: "forbidden" };
  return { kind: "ok", path };
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}
