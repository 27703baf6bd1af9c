// Runs the btfmill CLI as a user does: its own process, its exit code, its output.
import { execa } from "execa";

const cli = new URL("../../bin/btfmill.js", import.meta.url).pathname;

/** When an end-to-end test runs a command: never throws on a non-zero exit. */
export async function runBtfmill(args: string[]) {
  return execa(process.execPath, [cli, ...args], { reject: false, env: { CI: "true" } });
}
