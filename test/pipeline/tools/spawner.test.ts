// Tools started through the spawner fail exactly as runTool's do (same ToolError words), a hang
// ends at its timeout, a cancelled run stops its tool, and an idle spawner never keeps btfmill up.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolError } from "../../../archive/errors.ts";
import { runFileTool } from "../../../pipeline/tools/spawner.ts";
import { rejection } from "../../helpers/rejection.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-spawner-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("runFileTool", () => {
  it("runs tools side by side to the end, their files written", async () => {
    await Promise.all(
      ["a", "b", "c"].map((name) =>
        runFileTool("sh", ["-c", `echo ${name} > ${join(dir, name)}`], { timeoutMs: 10_000 }),
      ),
    );
    expect(await Promise.all(["a", "b", "c"].map((name) => readFile(join(dir, name), "utf8")))).toEqual([
      "a\n",
      "b\n",
      "c\n",
    ]);
  });

  it("reports an exit code, a signal and the end of stderr as runTool does", async () => {
    const exited = await rejection(
      runFileTool("sh", ["-c", "echo 'bad input' >&2; exit 139"], { timeoutMs: 10_000, kernel: "k" }),
    );
    expect(exited).toBeInstanceOf(ToolError);
    expect(exited.message).toBe("sh: exited with 139: bad input");
    expect((exited as ToolError).exitCode).toBe(139);
    expect((exited as ToolError).kernel).toBe("k");
    const killed = await rejection(runFileTool("sh", ["-c", "kill -SEGV $$"], { timeoutMs: 10_000 }));
    expect(killed.message).toBe("sh: was killed by SIGSEGV");
    expect((killed as ToolError).hint).toBeUndefined();
  });

  it("ends a hung tool at its timeout, and advises installing a tool that is not there", async () => {
    const started = Date.now();
    const hung = await rejection(runFileTool("sleep", ["30"], { timeoutMs: 300 }));
    expect(hung.message).toBe("sleep: timed out after 300 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
    const missing = await rejection(runFileTool("btfmill-no-such-tool", [], { timeoutMs: 10_000 }));
    expect(missing.message).toMatch(/^btfmill-no-such-tool: could not run/);
    expect((missing as ToolError).hint).toBe("install btfmill-no-such-tool (make setup)");
  });

  it("stops the tool of a cancelled run", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const running = rejection(runFileTool("sleep", ["30"], { timeoutMs: 60_000, signal: controller.signal }));
    setTimeout(() => controller.abort(), 200);
    expect((await running).message).toBe("sleep: was cancelled");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("lets the process exit once its tools are done", async () => {
    const script = `import { runFileTool } from ${JSON.stringify(new URL("../../../pipeline/tools/spawner.ts", import.meta.url).pathname)};
await runFileTool("true", [], { timeoutMs: 10_000 });
console.log("done");`;
    const started = Date.now();
    const result = await execa(process.execPath, ["--input-type=module", "-e", script], { timeout: 20_000 });
    expect(result.stdout).toBe("done");
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
