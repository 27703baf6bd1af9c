// A file server on 127.0.0.1 that serves a folder the way one kind of mirror, proxy or cache
// does: closing the connection after each body, sending bodies chunked without a length,
// redirecting every request to another origin, trickling bytes, or resetting the connection
// mid-body. Range requests (`bytes=<from>-`) are honoured, so a client can resume.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join, normalize, resolve, sep } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { listenOnLoopback } from "./loopback-listen.ts";

export type Behaviour =
  /** HTTP/1.1 with Content-Length and `Connection: close`: the socket closes after every body. */
  | { kind: "close" }
  /** No Content-Length: the body goes chunked, in pieces of `chunkBytes`, on a kept-alive connection. */
  | { kind: "chunked"; chunkBytes: number }
  /** Every request answers 301, 302, 307, 308 in turn, pointing to the same path under `to`. */
  | { kind: "redirect"; to: string }
  /** The body goes out `bytes` at a time with `everyMs` between them. */
  | { kind: "trickle"; bytes: number; everyMs: number }
  /** The first `times` requests for each file whose path matches `paths` send half the body, then a TCP reset. */
  | { kind: "reset"; times: number; paths: RegExp };

export interface ServedRequest {
  path: string;
  status: number;
  range: string | undefined;
  /** The connection was reset before the body ended. */
  reset: boolean;
}

export interface BehavingServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  requests: ServedRequest[];
  close(): Promise<void>;
}

const redirectStatuses = [301, 302, 307, 308];
const resetAfterMs = 100;

/** When a test needs a mirror that behaves as `behaviour` says: serves `root` until close(). */
export async function startBehavingServer(root: string, behaviour: Behaviour): Promise<BehavingServer> {
  const base = resolve(root);
  const requests: ServedRequest[] = [];
  const resetsByPath = new Map<string, number>();
  const server = createServer((request, response) => {
    answer(request, response).catch(() => response.destroy());
  });

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    const served: ServedRequest = { path, status: 200, range: request.headers.range, reset: false };
    requests.push(served);
    if (behaviour.kind === "redirect") {
      served.status = redirectStatuses[(requests.length - 1) % redirectStatuses.length]!;
      response.writeHead(served.status, { location: `${behaviour.to}${path}`, "content-length": 0 });
      response.end();
      return;
    }
    const file = normalize(join(base, decodeURIComponent(path)));
    const content = file.startsWith(base + sep) ? await readFile(file).catch(() => undefined) : undefined;
    if (content === undefined) {
      served.status = 404;
      response.writeHead(404, { "content-length": 0 });
      response.end();
      return;
    }
    const from = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? "")?.[1] ?? 0);
    const body = content.subarray(from);
    const headers: Record<string, string | number> = {
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
    };
    if (from > 0) {
      served.status = 206;
      headers["content-range"] = `bytes ${from}-${content.length - 1}/${content.length}`;
    }
    switch (behaviour.kind) {
      case "close":
        response.writeHead(served.status, { ...headers, "content-length": body.length, connection: "close" });
        response.end(body);
        return;
      case "chunked":
        response.writeHead(served.status, headers);
        for (let offset = 0; offset < body.length; offset += behaviour.chunkBytes) {
          await write(response, body.subarray(offset, offset + behaviour.chunkBytes));
        }
        response.end();
        return;
      case "trickle":
        response.writeHead(served.status, { ...headers, "content-length": body.length });
        for (let offset = 0; offset < body.length && !response.destroyed; offset += behaviour.bytes) {
          await write(response, body.subarray(offset, offset + behaviour.bytes));
          await sleep(behaviour.everyMs);
        }
        response.end();
        return;
      case "reset": {
        response.writeHead(served.status, { ...headers, "content-length": body.length });
        const resets = resetsByPath.get(path) ?? 0;
        if (!behaviour.paths.test(path) || resets >= behaviour.times) {
          response.end(body);
          return;
        }
        resetsByPath.set(path, resets + 1);
        served.reset = true;
        await write(response, body.subarray(0, body.length >> 1));
        // Time for the client to take the headers in: a reset before that would discard them
        // unread, and be a failure to open, not a break in the body.
        await sleep(resetAfterMs);
        response.socket?.resetAndDestroy();
        return;
      }
    }
  }

  return { ...(await listenOnLoopback(server)), requests };
}

// Waits for the client to take the chunk, or to go away.
function write(response: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (response.write(chunk)) {
      resolve();
      return;
    }
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}
