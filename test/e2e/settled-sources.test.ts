// End to end, as a user runs it: `btfmill run` and `plan` against a signed Debian mirror on
// 127.0.0.1 (dpkg-deb, apt-ftparchive, gpg). A source whose full read left it nothing to do is
// settled: the next run fetches its InRelease alone (no Packages, no state part) while the signed
// bytes, its config, the object sets, the options and its archive folder stay the same; signed again
// over the same Packages, it is verified but not read; it is read in full as soon as its indexes or
// anything else changes, with --recheck, or once it was stale.
import { rename, rm, mkdtemp, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { archiveTarballPath } from "../../archive/layout.ts";
import { readManifest } from "../../archive/state.ts";
import type { PlanPreview } from "../../pipeline/plan-preview.ts";
import { inShard } from "../../pipeline/shard.ts";
import {
  buildAptMirror,
  createSigningKey,
  dbgPackage,
  resignSuite,
  writeListedSuite,
  type AptMirror,
} from "../fixtures/apt-mirror.ts";
import { makeCoreObject } from "../fixtures/bpf-objects.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

const bookwormKernels = ["6.1.0-1-cloud-amd64", "6.1.0-5-cloud-amd64"];
const bullseyeKernel = "5.10.0-1-cloud-amd64";
const sha256 = expect.stringMatching(/^[0-9a-f]{64}$/);

describe("settled sources", () => {
  let work: string;
  let mirror: AptMirror;
  let server: StaticServer;
  let object: string;

  // Each source with its own suite, every kernel converted (the fixture's vmlinux has no .BTF).
  const source = (release: string, suite: string, more: object = {}) => ({
    distro: "debian",
    release,
    arch: "x86_64",
    mirror: `${server.url}/debian`,
    keyring: mirror.keyring,
    suites: [suite],
    kernelsWithBtf: "all",
    ...more,
  });
  const writeConfig = async (name: string, archive: string, sources: object[], objects?: object): Promise<string> => {
    const path = join(work, `${name}.json`);
    await writeFile(
      path,
      JSON.stringify({
        archive: join(work, archive),
        sources,
        ...(objects ? { objects } : {}),
        http: { retry: { attempts: 2, baseDelayMs: 10 } },
      }),
    );
    return path;
  };
  let config: string;
  // What a command asked the mirror for: the suites whose InRelease, and whose Packages, it fetched.
  const fetched = async (run: () => Promise<unknown>) => {
    const before = server.requests.length;
    await run();
    const paths = server.requests.slice(before).map((request) => request.path);
    const suites = (pattern: RegExp) =>
      paths.flatMap((path) => pattern.exec(path)?.slice(1, 2) ?? []).sort((a, b) => a.localeCompare(b));
    return {
      inRelease: suites(/\/dists\/([^/]+)\/InRelease$/),
      packages: [...new Set(suites(/\/dists\/([^/]+)\/main\/binary-amd64\/(?:by-hash\/.*|Packages.*)$/))],
    };
  };
  const run = async (...args: string[]) => {
    const result = await runBtfmill(["run", "--config", config, ...args]);
    return { ...result, summary: /summary: .*/.exec(result.stderr)?.[0] };
  };
  const settledOf = async (archive: string) => {
    const manifest = await readManifest(join(work, archive));
    return Object.fromEntries(Object.entries(manifest.sources).map(([id, state]) => [id, state.settled]));
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-settled-"));
    const vmlinux = await makeVmlinux(join(work, "plain.o"));
    await mkdir(join(work, "keys"));
    mirror = await buildAptMirror(join(work, "served", "debian"), {
      arch: "amd64",
      key: await createSigningKey(join(work, "keys")),
      suites: {
        bookworm: bookwormKernels.map((kernel, index) =>
          dbgPackage({ kernel, version: `6.1.${index + 10}-1`, vmlinux }),
        ),
        bullseye: [dbgPackage({ kernel: bullseyeKernel, version: "5.10.1-1", vmlinux })],
      },
    });
    await mkdir(join(work, "objects"));
    object = await makeCoreObject(join(work, "objects"), "tcprtt");
    server = await startStaticServer(join(work, "served"));
    config = await writeConfig("two", "archive", [source("12", "bookworm"), source("11", "bullseye")]);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("a run that converts every kernel leaves both sources settled, with their kernel counts", async () => {
    const first = await run();
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.summary).toBe("summary: 3 ok, 0 failed, 0 skipped, 0 unchanged");
    expect(await settledOf("archive")).toEqual({
      "debian/11/x86_64": { key: sha256, contentKey: sha256, kernels: 1 },
      "debian/12/x86_64": { key: sha256, contentKey: sha256, kernels: 2 },
    });
  });

  it("the next run and plan fetch each suite's InRelease alone: no Packages, every kernel unchanged", async () => {
    let second: Awaited<ReturnType<typeof run>> | undefined;
    expect(await fetched(async () => (second = await run()))).toEqual({
      inRelease: ["bookworm", "bullseye"],
      packages: [],
    });
    expect(second?.exitCode, second?.stderr).toBe(0);
    expect(second?.summary).toBe("summary: 0 ok, 0 failed, 0 skipped, 3 unchanged");
    expect(second?.stderr).toContain(
      "source debian/12/x86_64: 2 kernel package(s) unchanged since its last full read (signed indexes the same)",
    );
    let plan: PlanPreview | undefined;
    expect(
      await fetched(async () => {
        plan = JSON.parse((await runBtfmill(["plan", "--config", config, "--json"])).stdout) as PlanPreview;
      }),
    ).toEqual({ inRelease: ["bookworm", "bullseye"], packages: [] });
    expect(plan?.kernels).toEqual([]);
    expect(plan?.sources.map(({ source, unchanged, settled }) => [source, unchanged, settled])).toEqual([
      ["debian/11/x86_64", 1, true],
      ["debian/12/x86_64", 2, true],
    ]);
  });

  it("a suite signed again over the same Packages is verified, its index not read; one whose Packages change is read in full", async () => {
    const before = await settledOf("archive");
    // A signature carries its time in seconds: a second later, the InRelease bytes differ.
    await sleep(1100);
    await resignSuite(mirror, "bookworm", mirror.key);
    let again: Awaited<ReturnType<typeof run>> | undefined;
    expect(await fetched(async () => (again = await run()))).toEqual({
      inRelease: ["bookworm", "bookworm", "bullseye"],
      packages: [],
    });
    expect(again?.summary).toBe("summary: 0 ok, 0 failed, 0 skipped, 3 unchanged");
    const resigned = await settledOf("archive");
    expect(resigned["debian/12/x86_64"]?.key).not.toBe(before["debian/12/x86_64"]?.key);
    expect(resigned["debian/12/x86_64"]?.contentKey).toBe(before["debian/12/x86_64"]?.contentKey);
    expect(resigned["debian/11/x86_64"]).toEqual(before["debian/11/x86_64"]);
    // The next run finds the new signature's bytes recorded: InRelease alone again.
    expect((await fetched(() => run())).inRelease).toEqual(["bookworm", "bullseye"]);

    const listed = (names: string[]) =>
      mirror.packages
        .filter((built) => built.suite === "bookworm" && names.some((kernel) => built.name.includes(kernel)))
        .map(({ name, version, filename, size, sha256 }) => ({ name, version, filename, size, sha256 }));
    await writeListedSuite(mirror, "bookworm", listed([bookwormKernels[0]!]));
    let fewer: Awaited<ReturnType<typeof run>> | undefined;
    expect((await fetched(async () => (fewer = await run()))).packages).toEqual(["bookworm"]);
    expect(fewer?.summary).toBe("summary: 0 ok, 0 failed, 0 skipped, 2 unchanged");
    expect((await settledOf("archive"))["debian/12/x86_64"]?.contentKey).not.toBe(
      before["debian/12/x86_64"]?.contentKey,
    );
    await writeListedSuite(mirror, "bookworm", listed(bookwormKernels));
    expect((await fetched(() => run())).packages).toEqual(["bookworm"]);
  });

  it("a tarball removed by hand unsettles its source, which converts that kernel again", async () => {
    await rm(
      join(
        work,
        "archive",
        archiveTarballPath({ distro: "debian", release: "11", arch: "x86_64", kernel: bullseyeKernel }),
      ),
    );
    let redo: Awaited<ReturnType<typeof run>> | undefined;
    expect((await fetched(async () => (redo = await run()))).packages).toEqual(["bullseye"]);
    expect(redo?.summary).toBe("summary: 1 ok, 0 failed, 0 skipped, 2 unchanged");
    expect((await fetched(() => run())).packages).toEqual([]);
  });

  it("--recheck reads every source in full", async () => {
    let recheck: Awaited<ReturnType<typeof run>> | undefined;
    expect((await fetched(async () => (recheck = await run("--recheck")))).packages).toEqual(["bookworm", "bullseye"]);
    expect(recheck?.summary).toBe("summary: 0 ok, 0 failed, 0 skipped, 3 unchanged");
  });

  it("a source's changed config, a new object set and --retry-failed each read the sources they concern in full", async () => {
    const narrowed = await writeConfig("narrowed", "archive", [
      source("12", "bookworm", { flavors: ["cloud-amd64"] }),
      source("11", "bullseye"),
    ]);
    const once = async (path: string, ...args: string[]) =>
      (await fetched(() => runBtfmill(["run", "--config", path, ...args]))).packages;
    expect(await once(narrowed)).toEqual(["bookworm"]);
    expect(await once(narrowed)).toEqual([]);
    const withSet = await writeConfig(
      "with-set",
      "archive",
      [source("12", "bookworm", { flavors: ["cloud-amd64"] }), source("11", "bullseye")],
      { net: [object] },
    );
    expect(await once(withSet)).toEqual(["bookworm", "bullseye"]);
    expect(await once(withSet)).toEqual([]);
    expect(await once(withSet, "--retry-failed")).toEqual(["bookworm", "bullseye"]);
  });

  it("a suite the mirror stops serving makes its source stale and unsettled; it is read in full once back", async () => {
    const dists = join(mirror.root, "dists");
    await rename(join(dists, "bullseye"), join(dists, "bullseye.gone"));
    const gone = await run();
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toContain("source debian/11/x86_64: STALE");
    const manifest = await readManifest(join(work, "archive"));
    expect(manifest.sources["debian/11/x86_64"]).toMatchObject({ status: "stale" });
    expect(manifest.sources["debian/11/x86_64"]?.settled).toBeUndefined();
    await rename(join(dists, "bullseye.gone"), join(dists, "bullseye"));
    expect((await fetched(() => run())).packages).toEqual(["bullseye"]);
    expect((await settledOf("archive"))["debian/11/x86_64"]).toBeDefined();
  });

  it("a shard settles its source only once no shard has work left in it", async () => {
    const sharded = await writeConfig("sharded", "sharded-archive", [source("12", "bookworm")]);
    const unit = (kernel: string) => `debian/12/x86_64/${kernel}`;
    // The two kernels fall in different shares of two (checked, so the test proves what it says).
    expect(bookwormKernels.map((kernel) => inShard(unit(kernel), { index: 1, count: 2 }))).toEqual([false, true]);
    const shard = (index: number) => runBtfmill(["run", "--config", sharded, "--shard", `${index}/2`]);
    expect((await shard(1)).exitCode).toBe(0);
    expect((await settledOf("sharded-archive"))["debian/12/x86_64"]).toBeUndefined();
    expect((await shard(2)).exitCode).toBe(0);
    expect((await settledOf("sharded-archive"))["debian/12/x86_64"]).toMatchObject({ kernels: 2 });
    expect((await fetched(() => shard(1))).packages).toEqual([]);
  });
});
