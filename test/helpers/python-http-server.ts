// Python's own http.server serving a folder on 127.0.0.1: a real server other than btfmill's,
// speaking HTTP/1.0 and closing the connection after every body, as simple mirrors do. It binds
// port 0 itself and prints the port it got, so no free port is guessed and raced for.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

export interface PythonHttpServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  close(): Promise<void>;
}

const serve = `
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
print(server.server_address[1], flush=True)
server.serve_forever()
`;

/** When a test needs a mirror behind a server that is not btfmill's: serves `root` until close(). */
export async function startPythonHttpServer(root: string): Promise<PythonHttpServer> {
  const child = spawn("python3", ["-c", serve, root], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await firstLine(child);
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill();
      await exited;
    },
  };
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`python3 http.server exited with ${String(code)} before it listened`);
  });
  // Its exit at close() comes long after the port was read: that rejection is nobody's business.
  exited.catch(() => {});
  try {
    const [line] = (await Promise.race([once(lines, "line"), exited])) as [string];
    if (!/^\d+$/.test(line)) throw new Error(`python3 http.server printed ${line} instead of its port`);
    return line;
  } finally {
    lines.close();
  }
}
