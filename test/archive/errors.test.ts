import { describe, expect, it } from "vitest";
import { FormatError, ToolError, describeError } from "../../archive/errors.ts";

describe("errors", () => {
  it("describe() puts the reason first, then where, then what to do", () => {
    const error = new FormatError("bad magic 0x1234", {
      kernel: "debian/12/x86_64/6.1.0-1-amd64",
      hint: "re-run pahole",
    });
    expect(describeError(error)).toBe("FormatError: bad magic 0x1234 [debian/12/x86_64/6.1.0-1-amd64] (re-run pahole)");
  });

  it("a tool error names the tool and keeps its exit code and stderr", () => {
    const error = new ToolError("pahole", "exited with 1", { exitCode: 1, stderrTail: "no DWARF" });
    expect(error.message).toBe("pahole: exited with 1");
    expect(error.exitCode).toBe(1);
    expect(error.stderrTail).toBe("no DWARF");
  });
});
