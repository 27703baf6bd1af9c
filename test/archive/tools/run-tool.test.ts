// The one way tools are run: a crash says it was a crash (not "install the tool"), a hang ends at
// the timeout, and the timeouts tests and big hosts set through the environment are checked.
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, ToolError } from "../../../archive/errors.ts";
import { runTool, timeoutFromEnv, toolFailure } from "../../../archive/tools/run-tool.ts";
import { rejection } from "../../helpers/rejection.ts";

describe("runTool", () => {
  it("reports a tool killed by a signal as killed, with no advice to install it", async () => {
    const error = await rejection(runTool("sh", ["-c", "echo 'Segmentation fault' >&2; kill -SEGV $$"]));
    expect(error).toBeInstanceOf(ToolError);
    expect(error.message).toBe("sh: was killed by SIGSEGV: Segmentation fault");
    expect((error as ToolError).hint).toBeUndefined();
  });

  it("reports a crash a wrapper script passes on as its exit code", async () => {
    const error = await rejection(runTool("sh", ["-c", "exit 139"]));
    expect(error.message).toBe("sh: exited with 139");
    expect((error as ToolError).exitCode).toBe(139);
  });

  it("ends a hung tool at its timeout", async () => {
    const started = Date.now();
    const error = await rejection(runTool("sleep", ["30"], { timeoutMs: 300 }));
    expect(error.message).toBe("sleep: timed out after 300 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("advises installing a tool that is not there", async () => {
    const error = await rejection(runTool("btfmill-no-such-tool", []));
    expect(error.message).toMatch(/^btfmill-no-such-tool: could not run/);
    expect((error as ToolError).hint).toBe("install btfmill-no-such-tool (make setup)");
  });
});

describe("toolFailure", () => {
  it("says a tool stopped for printing too much was stopped for that, whatever signal ended it", () => {
    const error = toolFailure(
      "gpgv",
      { timedOut: false, cancelled: false, signal: "SIGTERM", stderr: "", overflowBytes: 4096 },
      {},
    );
    expect(error.message).toBe("gpgv: printed more than 4096 bytes");
    expect(error.hint).toBeUndefined();
  });
});

describe("timeoutFromEnv", () => {
  const name = "BTFMILL_TEST_TIMEOUT_MS";
  afterEach(() => {
    delete process.env[name];
  });

  it("takes the default when the variable is unset or empty, and the variable's milliseconds otherwise", () => {
    expect(timeoutFromEnv(name, 60_000)).toBe(60_000);
    process.env[name] = "";
    expect(timeoutFromEnv(name, 60_000)).toBe(60_000);
    process.env[name] = "1500";
    expect(timeoutFromEnv(name, 60_000)).toBe(1500);
  });

  it("refuses a value that is not a positive whole number, naming the variable", () => {
    for (const text of ["0", "-5", "1.5", "soon"]) {
      process.env[name] = text;
      expect(() => timeoutFromEnv(name, 60_000)).toThrow(ConfigError);
      expect(() => timeoutFromEnv(name, 60_000)).toThrow(
        `${name}=${JSON.stringify(text)} is not a positive whole number of milliseconds`,
      );
    }
  });
});
