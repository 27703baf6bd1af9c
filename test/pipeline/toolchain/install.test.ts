// The pinned converter toolchain against the machine's Debian mirror: installed through btfmill's
// own apt chain into a temporary folder once for the file (about 6 MB of trixie packages), then
// run through its own loader. Skipped, with the reason, when the mirror is unreachable.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAptSources } from "../../../distros/repos/apt-sources.ts";
import { parseConfig } from "../../../pipeline/config.ts";
import { installToolchain, type InstallResult } from "../../../pipeline/toolchain/install.ts";
import { toolchainPackages } from "../../../pipeline/toolchain/pins.ts";
import { toolchainCommand } from "../../../pipeline/toolchain/probe.ts";
import { selectTools } from "../../../pipeline/toolchain/select.ts";
import { runPahole } from "../../../pipeline/tools/pahole.ts";
import { clearToolCommands } from "../../../archive/tools/tool-command.ts";
import { rejection } from "../../helpers/rejection.ts";
import { runBtfmill } from "../../helpers/cli.ts";

const probeTimeoutMs = 5_000;

// Sixteen compilation units, each with its own structs and the shared ones, so pahole -j2 has
// units to encode side by side and types to deduplicate across them.
async function manyUnitObject(dir: string): Promise<string> {
  const objects: string[] = [];
  for (let unit = 0; unit < 16; unit++) {
    const source = join(dir, `unit${unit}.c`);
    await writeFile(
      source,
      `struct shared { int a; long b; struct shared *next; };\n` +
        `enum unit${unit}_state { U${unit}_A, U${unit}_B = ${unit} };\n` +
        `struct unit${unit} { struct shared s; enum unit${unit}_state st; char name[${unit + 1}]; unsigned bits : ${(unit % 7) + 1}; };\n` +
        `int unit${unit}_fn(struct unit${unit} *u, struct shared *s) { return u->st + s->a; }\n` +
        `struct unit${unit} unit${unit}_var;\n`,
    );
    const object = join(dir, `unit${unit}.o`);
    await execa("gcc", ["-g", "-O0", "-c", "-o", object, source]);
    objects.push(object);
  }
  const linked = join(dir, "vmlinux");
  await execa("ld", ["-r", "-o", linked, ...objects]);
  return linked;
}

describe("btfmill toolchain against the machine's Debian mirror", () => {
  let unreachable: string | undefined;
  let work: string;
  let dir: string;
  let first: InstallResult | undefined;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-toolchain-"));
    dir = join(work, "toolchain");
    const entry = (await loadAptSources()).find(
      (source) => source.type === "deb" && source.suites.some((suite) => /^(bookworm|trixie)/.test(suite)),
    );
    if (entry === undefined) {
      unreachable = "no apt source of this machine lists a Debian suite";
      return;
    }
    const url = `${entry.uri}/dists/trixie/InRelease`;
    try {
      const response = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(probeTimeoutMs) });
      if (!response.ok) unreachable = `HEAD ${url} answered HTTP ${response.status}`;
    } catch (error) {
      unreachable = `HEAD ${url} failed within ${probeTimeoutMs} ms: ${(error as Error).message}`;
    }
    if (unreachable === undefined) first = await installToolchain({ dir });
  }, 5 * 60_000);

  afterAll(async () => {
    clearToolCommands();
    await rm(work, { recursive: true, force: true });
  });

  it("installs every pinned package, checked by sha256, and its pahole and bpftool start through their own loader", async (context) => {
    context.skip(unreachable !== undefined, `mirror unreachable: ${unreachable}`);
    expect(first!.downloaded).toEqual([...toolchainPackages]);
    expect(first!.record.packages.map((pkg) => pkg.name)).toEqual([...toolchainPackages]);
    for (const pkg of first!.record.packages) expect(pkg.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first!.record.tools.pahole.version).toMatch(/^v1\.(3\d|[4-9]\d)/);
    expect(first!.record.tools.bpftool.version).toMatch(/^bpftool v7\.([5-9]|\d\d)/);
    // The host's own loader is not involved: the tool's libraries resolve under the toolchain's root.
    const command = toolchainCommand(first!.record.root, "pahole");
    const { stdout } = await execa(command.file, ["--list", ...command.prefix]);
    for (const line of stdout.split("\n").filter((text) => text.includes("=>")))
      expect(line).toContain(first!.record.root);
  });

  it("a second install with everything present downloads no package, and --json names each package with its sha256", async (context) => {
    context.skip(unreachable !== undefined, `mirror unreachable: ${unreachable}`);
    const again = await installToolchain({ dir });
    expect(again.downloaded).toEqual([]);
    expect(again.record).toEqual(first!.record);
    const cli = await runBtfmill(["toolchain", "--dir", dir, "--json"]);
    expect(cli.exitCode, cli.stderr).toBe(0);
    const shown = JSON.parse(cli.stdout) as {
      downloaded: string[];
      packages: { name: string; sha256: string }[];
      tools: { pahole: { package: string } };
    };
    expect(shown.downloaded).toEqual([]);
    expect(shown.tools.pahole.package).toBe("pahole");
    expect(shown.packages).toEqual(first!.record.packages);
  });

  it("the pinned pahole gives the same bytes with -j1 and -j2", async (context) => {
    context.skip(unreachable !== undefined, `mirror unreachable: ${unreachable}`);
    const config = parseConfig({ toolchain: { dir } }, "test", work);
    const selected = await selectTools(config.toolchain);
    expect(selected.pahole.text).toBe(first!.record.tools.pahole.version);
    expect(selected.toolchain?.packages.find((pkg) => pkg.name === "pahole")?.sha256).toBe(
      first!.record.packages[0]!.sha256,
    );
    const vmlinux = await manyUnitObject(work);
    const features = [
      "--btf_features=encode_force,var,float,decl_tag,type_tag,enum64,optimized_func,consistent_func,reproducible_build",
    ];
    const outputs: Buffer[] = [];
    for (const threads of ["-j1", "-j2", "-j2", "-j1"]) {
      const out = join(work, `out${outputs.length}.btf`);
      await runPahole(vmlinux, out, [threads, ...features], { kernel: "fixture" });
      outputs.push(await readFile(out));
    }
    expect(outputs[0]!.length).toBeGreaterThan(1000);
    for (const output of outputs) expect(output.equals(outputs[0]!)).toBe(true);
  });

  it("a host pahole below 1.29 is refused for threads above 1, with the reason", async () => {
    const { stdout } = await execa("pahole", ["--version"]);
    const [major, minor] = stdout.replace(/^v/, "").split(".").map(Number);
    const config = parseConfig(
      { toolchain: { pahole: "pahole", bpftool: "bpftool" }, pahole: { threads: 2 } },
      "test",
      work,
    );
    try {
      if (major! > 1 || minor! >= 29) {
        await expect(selectTools(config.toolchain, config.pahole)).resolves.toBeDefined();
      } else {
        const error = await rejection(selectTools(config.toolchain, config.pahole));
        expect(error.name).toBe("ConfigError");
        expect(error.message).toMatch(/differently from run to run with -j .*only from 1\.29/);
      }
    } finally {
      clearToolCommands();
    }
  });

  it("a run without the pinned toolchain installed, and no host tools named, says how to install it", async () => {
    const config = parseConfig({ toolchain: { dir: join(work, "absent") } }, "test", work);
    const error = await rejection(selectTools(config.toolchain));
    expect(error.name).toBe("ConfigError");
    expect((error as { hint?: string }).hint).toMatch(/btfmill toolchain/);
  });
});
