// Kernels converted by another toolchain: left as they are by default, converted again with the
// pinned one by `run --reconvert`, which then records the toolchain's packages in the manifest.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../../archive/state.ts";
import { dbgPackage, type AptMirror } from "../fixtures/apt-mirror.ts";
import { serveBookwormMirror } from "../fixtures/bookworm-mirror.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { runBtfmill } from "../helpers/cli.ts";
import type { StaticServer } from "../helpers/static-server.ts";

describe("btfmill run and kernels another toolchain converted", () => {
  let work: string;
  let mirror: AptMirror;
  let server: StaticServer;
  const archive = () => join(work, "archive");
  const key = "debian/12/x86_64/6.1.0-1-cloud-amd64";
  const manifestNow = () => readManifest(archive());
  const config = async (name: string, toolchain: Record<string, unknown>) => {
    const path = join(work, `${name}.json`);
    const sources = [{ distro: "debian", release: "12", arch: "x86_64", mirror: server.url, keyring: mirror.keyring }];
    await writeFile(path, JSON.stringify({ archive: archive(), sources, toolchain }));
    return path;
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-reconvert-"));
    const plain = await makeVmlinux(join(work, "plain.o"));
    ({ mirror, server } = await serveBookwormMirror(work, [
      dbgPackage({ kernel: "6.1.0-1-cloud-amd64", version: "6.1.1-1", vmlinux: plain }),
    ]));
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("keeps a host pahole's BTF under the pinned toolchain until run --reconvert, which records the pinned packages", async (context) => {
    const pinned = await config("pinned", {});
    const probe = await runBtfmill(["toolchain", "--config", pinned, "--json"]);
    context.skip(
      probe.exitCode !== 0,
      `the pinned toolchain cannot be installed here: ${probe.stderr.trim().split("\n").at(-1)}`,
    );

    const host = await runBtfmill(["run", "--config", await config("host", { pahole: "pahole", bpftool: "bpftool" })]);
    expect(host.exitCode, host.stderr).toBe(0);
    const byHost = (await manifestNow()).kernels[key]!;
    expect(byHost.toolchain).toBeUndefined();

    const kept = await runBtfmill(["run", "--config", pinned]);
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(kept.stderr).toContain("0 ok, 0 failed, 0 skipped, 1 unchanged");
    expect((await manifestNow()).kernels[key]).toEqual(byHost);

    const redone = await runBtfmill(["run", "--config", pinned, "--reconvert"]);
    expect(redone.exitCode, redone.stderr).toBe(0);
    const byPinned = (await manifestNow()).kernels[key]!;
    expect(byPinned.status).toBe("ok");
    expect(byPinned.toolchain?.packages.map((pkg) => pkg.name)).toContain("pahole");
    expect(byPinned.pahole?.version).toBe(
      (JSON.parse(probe.stdout) as { tools: { pahole: { version: string } } }).tools.pahole.version,
    );

    // Asked again, the kernel is now the current toolchain's: nothing to redo.
    const again = await runBtfmill(["run", "--config", pinned, "--reconvert"]);
    expect(again.stderr).toContain("1 unchanged");
    expect((await manifestNow()).kernels[key]!.btf).toEqual(byPinned.btf);
  });
});
