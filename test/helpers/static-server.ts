// A static file server on 127.0.0.1 for tests: GET and HEAD of files under a root, 404 for
// anything else, and a log of what was asked, so a test can tell which mirror served what. A test
// may have given paths answer another status (a mirror's 500 for one file).
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { join, normalize, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { listenOnLoopback } from "./loopback-listen.ts";

export interface ServedRequest {
  method: string;
  /** URL path as requested, without the query. */
  path: string;
  status: number;
  /** Body bytes answered: the file's size for a GET that found it, 0 otherwise. */
  bytes: number;
}

export interface StaticServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  port: number;
  /** Every request so far, in order. */
  requests: ServedRequest[];
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** URL path -> the status answered for it, with an empty body, instead of the file. */
  statuses?: Record<string, number>;
}

/** When a test needs a mirror on the network: serves `root` on a random loopback port until close(). */
export async function startStaticServer(root: string, options: StaticServerOptions = {}): Promise<StaticServer> {
  const base = resolve(root);
  const requests: ServedRequest[] = [];
  const server = createServer((request, response) => {
    const method = request.method ?? "GET";
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    const answer = (status: number, bytes = 0) => {
      requests.push({ method, path, status, bytes });
      response.statusCode = status;
    };
    if (method !== "GET" && method !== "HEAD") {
      answer(405);
      response.setHeader("allow", "GET, HEAD");
      response.end();
      return;
    }
    const scripted = options.statuses?.[path];
    if (scripted !== undefined) {
      answer(scripted);
      response.end();
      return;
    }
    const decoded = safeDecode(path);
    const file = decoded === undefined ? undefined : normalize(join(base, decoded));
    // Refuse paths that climb out of the root (`/../`) or do not decode, as a real server does.
    if (file === undefined || !file.startsWith(base + sep)) {
      answer(404);
      response.end();
      return;
    }
    stat(file).then(
      async (info) => {
        if (!info.isFile()) {
          answer(404);
          response.end();
          return;
        }
        answer(200, method === "GET" ? info.size : 0);
        response.setHeader("content-length", info.size);
        response.setHeader("content-type", "application/octet-stream");
        if (method === "HEAD") {
          response.end();
          return;
        }
        await pipeline(createReadStream(file), response).catch(() => response.destroy());
      },
      () => {
        answer(404);
        response.end();
      },
    );
  });
  return { ...(await listenOnLoopback(server)), requests };
}

function safeDecode(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
