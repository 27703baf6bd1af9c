// `btfmill serve`: the published tree over HTTP for local use and tests. The HTTP semantics
// (Range, If-None-Match/If-Modified-Since, HEAD, 416, 412, directory redirects) come from `send`,
// the file server under Express's serve-static; this adds what a static host adds: the tree's
// `_headers`, precompressed JSON, BTF content types, and a JSON 404 for a kernel path.
import { realpath, readFile, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, relative, sep } from "node:path";
import send from "send";
import { headersName, parseKernelPath } from "./cdn-layout.ts";
import { explainMissingKernel } from "./serve-not-found.ts";
import { checkRequestPath } from "./serve-path.ts";
import { headersFor, parseHeaderRules } from "./static-headers.ts";

const contentTypes: Record<string, string> = {
  ".btf": "application/octet-stream",
  ".xz": "application/x-xz",
  ".json": "application/json; charset=utf-8",
  ".sig": "text/plain; charset=utf-8",
  ".pem": "application/x-pem-file",
};

/** When serve starts, and for tests: the request handler for the tree at `dir` (a folder or publish's symlink). */
export function siteHandler(dir: string): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    handle(dir, request, response).catch((error: unknown) => {
      if (!response.headersSent) respond(response, 500, "text/plain; charset=utf-8", `${(error as Error).message}\n`);
      else response.destroy();
    });
  };
}

/** When the user runs `btfmill serve`: listens until the returned server is closed. */
export async function startSiteServer(
  dir: string,
  port: number,
  host: string,
): Promise<{ server: Server; url: string }> {
  await realpath(dir);
  const server = createServer(siteHandler(dir));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { server, url: `http://${shownHost}:${address.port}` };
}

async function handle(dir: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("Allow", "GET, HEAD");
    return respond(response, 405, "text/plain; charset=utf-8", "only GET and HEAD\n");
  }
  // Resolved per request: publish switches the tree by renaming a symlink, and one request must
  // read one generation from start to end.
  const root = await realpath(dir);
  const rawPath = (request.url ?? "/").split("?")[0] ?? "/";
  const checked = await checkRequestPath(root, rawPath);
  if (checked.kind === "bad-request") return respond(response, 400, "text/plain; charset=utf-8", "malformed path\n");
  if (checked.kind === "forbidden")
    return respond(response, 403, "text/plain; charset=utf-8", "outside the served folder\n");
  const rules = parseHeaderRules(await readFile(join(root, headersName), "utf8").catch(() => ""));
  const encoded = await precompressed(root, checked.path, request);
  const stream = send(request, encoded ? encodeURI(`${checked.path}.${encoded.suffix}`) : rawPath, {
    root,
    dotfiles: "ignore",
    cacheControl: false,
    index: ["index.html"],
  });
  stream.on("headers", (res: ServerResponse, path: string) => {
    const urlPath = `/${relative(root, path).split(sep).join("/")}`;
    for (const [name, value] of Object.entries(headersFor(rules, encoded ? checked.path : urlPath)))
      res.setHeader(name, value);
    const type = contentTypes[extname(encoded ? checked.path : path)];
    if (type) res.setHeader("Content-Type", type);
    if (extname(checked.path) === ".json") res.setHeader("Vary", "Accept-Encoding");
    if (encoded) res.setHeader("Content-Encoding", encoded.encoding);
  });
  stream.on("error", (error: { status?: number; statusCode?: number }) => {
    const status = error.status ?? error.statusCode ?? 500;
    void notFound(root, status, checked.path, response).catch(() => response.destroy());
  });
  stream.pipe(response);
}

// A `.gz`/`.br` sibling written by publish, when the client takes it. A Range applies to the
// identity bytes a client asked for, so ranged requests get those.
async function precompressed(
  root: string,
  path: string,
  request: IncomingMessage,
): Promise<{ suffix: string; encoding: string } | undefined> {
  if (extname(path) !== ".json" || request.headers.range) return undefined;
  const accepted = acceptedEncodings(request.headers["accept-encoding"] ?? "");
  for (const [encoding, suffix] of [
    ["br", "br"],
    ["gzip", "gz"],
  ] as const) {
    if (!accepted.has(encoding)) continue;
    const found = await stat(join(root, `.${path}.${suffix}`)).then(
      (stats) => stats.isFile(),
      () => false,
    );
    if (found) return { suffix, encoding };
  }
  return undefined;
}

function acceptedEncodings(header: string): Set<string> {
  const accepted = new Set<string>();
  for (const part of header.split(",")) {
    const [token, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((param) => param.trim()).find((param) => param.startsWith("q="));
    if (token && (q === undefined || Number(q.slice(2)) > 0)) accepted.add(token);
  }
  return accepted;
}

async function notFound(root: string, status: number, path: string, response: ServerResponse): Promise<void> {
  if (status !== 404) return respond(response, status, "text/plain; charset=utf-8", `${status}\n`);
  const kernel = parseKernelPath(path.slice(1));
  if (kernel) {
    const body = await explainMissingKernel(root, kernel.key, kernel.set);
    return respond(response, 404, "application/json; charset=utf-8", `${JSON.stringify(body, null, 1)}\n`);
  }
  const page = await readFile(join(root, "404.html")).catch(() => Buffer.from("not found\n"));
  respond(response, 404, "text/html; charset=utf-8", page);
}

function respond(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.statusCode = status;
  response.setHeader("Content-Type", type);
  response.setHeader("Content-Length", Buffer.byteLength(body));
  response.setHeader("Cache-Control", "no-store");
  response.end(response.req.method === "HEAD" ? undefined : body);
}
