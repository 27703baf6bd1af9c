// `btfmill serve`'s options and help.
import { commandSpec } from "./context.ts";

export const serveSpec = commandSpec({
  name: "serve",
  summary: "serve a published site over HTTP for local use and tests",
  usage: `btfmill serve [DIR] [--port P] [--host H]

  DIR        the site to serve (default: ./btf-site)
  --port P   port (default: 8080; 0 picks a free one)
  --host H   address to listen on (default: 127.0.0.1)

Serves GET and HEAD with Range, ETag/If-None-Match, the site's _headers, gzip/br for JSON, and a
JSON 404 that says why a kernel's file is missing. Stops on Ctrl-C.`,
  options: { help: { type: "boolean", short: "h" }, port: { type: "string", short: "p" }, host: { type: "string" } },
});
