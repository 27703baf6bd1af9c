// Which processes this test process has spawned and not yet reaped, to prove a decompressor's
// child is gone (killed and waited for) once the stream that owned it is closed.
import { execa } from "execa";

/** When a test checks for leftovers: the commands of this process's live children, `ps` itself excluded. */
export async function childCommands(): Promise<string[]> {
  const { stdout } = await execa("ps", ["-o", "comm=", "--ppid", String(process.pid)], { reject: false });
  return stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((command) => command !== "" && command !== "ps");
}
