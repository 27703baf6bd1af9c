// A toolchain root is accepted only when its own pahole and bpftool start through its loader and
// are at least the pinned versions. The roots here are real: the machine's own glibc, pahole and
// bpftool linked into a folder laid out as an unpacked toolchain (Debian 12's pahole 1.24 and
// bpftool 7.1 are older than the pins), and the toolchain `make setup` installed.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, FormatError, IntegrityError, ToolError } from "../../../archive/errors.ts";
import { defaultToolchainDir, readInstalled } from "../../../pipeline/toolchain/installed.ts";
import { pinnedHost, pinnedTools } from "../../../pipeline/toolchain/pins.ts";
import { probeToolchain, toolchainCommand } from "../../../pipeline/toolchain/probe.ts";
import { rejection } from "../../helpers/rejection.ts";

let work: string;

// A folder laid out as an unpacked toolchain whose tools are `tools` and whose libraries are those under `libraries` (by default the machine's).
async function hostRoot(name: string, tools: { pahole?: string; bpftool?: string }, libraries = "/"): Promise<string> {
  const root = join(work, name);
  const { libDir } = pinnedHost();
  await mkdir(dirname(join(root, libDir)), { recursive: true });
  await symlink(join(libraries, libDir), join(root, libDir));
  for (const [tool, target] of Object.entries(tools)) {
    const binary = join(root, pinnedTools[tool as keyof typeof pinnedTools].binary);
    await mkdir(dirname(binary), { recursive: true });
    await symlink(target, binary);
  }
  return root;
}

// A program that starts and prints a line with no version in it, whatever its arguments.
let noVersion: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-probe-"));
  await writeFile(
    join(work, "no-version.c"),
    '#include <stdio.h>\nint main(void) { puts("usage: no version here"); return 0; }\n',
  );
  noVersion = join(work, "no-version");
  await execa("gcc", ["-o", noVersion, join(work, "no-version.c")]);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("toolchainCommand", () => {
  it("starts the tool through the root's own loader with the root's libraries first", () => {
    const { libDir, loader } = pinnedHost();
    expect(toolchainCommand("/opt/tc", "bpftool")).toEqual({
      file: `/opt/tc/${libDir}/${loader}`,
      prefix: ["--library-path", `/opt/tc/${libDir}`, "/opt/tc/usr/sbin/bpftool"],
    });
  });
});

describe("pinnedHost", () => {
  it("refuses an arch the toolchain has no build for with a ConfigError that says to name host tools", () => {
    const error = (() => {
      try {
        pinnedHost("riscv64");
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe("the pinned toolchain has no build for riscv64");
    expect((error as ConfigError).hint).toMatch(/toolchain section/);
  });
});

describe("probeToolchain", () => {
  it("reports a tool missing from the root as a ToolError from the loader, naming the root and how to reinstall", async () => {
    const root = await hostRoot("empty", {});
    const error = await rejection(probeToolchain(root));
    expect(error).toBeInstanceOf(ToolError);
    expect(error.message).toMatch(
      new RegExp(`^pahole: exited with 127 starting from the toolchain at ${root}: .*usr/bin/pahole`),
    );
    expect((error as ToolError).exitCode).toBe(127);
    expect((error as ToolError).hint).toBe("remove the toolchain folder and run `btfmill toolchain` again");
  });

  it("refuses a tool that starts but prints no version as a FormatError naming the tool's package", async () => {
    const root = await hostRoot("silent", { pahole: noVersion });
    const error = await rejection(probeToolchain(root));
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toBe(`the toolchain's pahole at ${root} printed "usage: no version here", not a version`);
    expect((error as FormatError).package).toBe("pahole");
  });

  it("refuses a pahole older than the pin (the machine's 1.24) as an IntegrityError that states both versions", async () => {
    const root = await hostRoot("old", { pahole: "/usr/bin/pahole", bpftool: "/usr/sbin/bpftool" });
    const error = await rejection(probeToolchain(root));
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toMatch(/^the toolchain's pahole is v1\.2\d, below the pinned 1\.30$/);
  });

  it("refuses a bpftool older than the pin (the machine's 7.1) once pahole passes", async (context) => {
    const installed = await readInstalled(defaultToolchainDir());
    context.skip(installed === undefined, "the pinned toolchain is not installed (make setup installs it)");
    // The machine's bpftool needs only libelf, zlib, libcap and glibc, which the toolchain's root carries newer.
    const root = await hostRoot(
      "old-bpftool",
      { pahole: join(installed!.root, pinnedTools.pahole.binary), bpftool: "/usr/sbin/bpftool" },
      installed!.root,
    );
    const error = await rejection(probeToolchain(root));
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toMatch(/^the toolchain's bpftool is \S*bpftool v7\.[0-4]\.\d+, below the pinned 7\.5$/);
    expect((error as IntegrityError).package).toBe("bpftool");
  });

  it("accepts the installed pinned toolchain and reports each tool's version line and package", async (context) => {
    const installed = await readInstalled(defaultToolchainDir());
    context.skip(installed === undefined, "the pinned toolchain is not installed (make setup installs it)");
    const tools = await probeToolchain(installed!.root);
    expect(tools.pahole).toEqual({ version: expect.stringMatching(/^v1\.\d+$/), package: "pahole" });
    expect(tools.bpftool).toEqual({ version: expect.stringMatching(/^bpftool v7\.\d+\.\d+$/), package: "bpftool" });
    expect(tools).toEqual(installed!.tools);
  });
});
