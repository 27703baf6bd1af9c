// `btfmill serve`: a published tree over HTTP (site/serve.ts), until interrupted.
import { once } from "node:events";
import { resolve } from "node:path";
import { startSiteServer } from "../../site/serve.ts";
import { ConfigError } from "../../archive/errors.ts";
import type { CommandContext } from "./context.ts";
import type { serveSpec } from "./serve-options.ts";

/** When the user runs `btfmill serve [DIR] [--port P] [--host H]`: serves until SIGINT or SIGTERM. */
export async function serveCommand(context: CommandContext<typeof serveSpec.options>): Promise<number> {
  const dir = resolve(context.positionals[0] ?? "btf-site");
  const portText = context.values.port ?? "8080";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`--port ${portText} is not a port number`, { hint: "use 0 to 65535; 0 picks a free one" });
  }
  const host = context.values.host ?? "127.0.0.1";
  const { server, url } = await startSiteServer(dir, port, host).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === "ENOENT")
      throw new ConfigError(`${dir} does not exist`, {
        cause,
        hint: 'run "btfmill publish --out DIR" first, or name the folder to serve',
      });
    if (cause.code === "EADDRINUSE")
      throw new ConfigError(`${host}:${port} is already in use`, { cause, hint: "pick another --port" });
    throw cause;
  });
  context.stdout(`serving ${dir} at ${url}/ (Ctrl-C stops)`);
  await Promise.race([once(process, "SIGINT"), once(process, "SIGTERM")]);
  server.close();
  server.closeAllConnections();
  return 0;
}
