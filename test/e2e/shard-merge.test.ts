// Scale-out as the nightly workflow does it: `plan` without downloads, `run --shard I/N` on
// separate archives, `merge` of the shard archives into one, with nothing dropped.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import type { Manifest } from "../../archive/manifest.ts";
import { readManifest, writeManifest } from "../../archive/state.ts";
import type { PlanPreview } from "../../pipeline/plan-preview.ts";
import { inShard, parseShard } from "../../pipeline/shard.ts";
import { dbgPackage, type AptMirror } from "../fixtures/apt-mirror.ts";
import { serveBookwormMirror } from "../fixtures/bookworm-mirror.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { runBtfmill } from "../helpers/cli.ts";
import type { StaticServer } from "../helpers/static-server.ts";

const flavors = ["amd64", "cloud-amd64", "rt-amd64"];

describe("shards", () => {
  it("parses I/N and refuses anything else", () => {
    expect(parseShard("2/3")).toEqual({ index: 2, count: 3 });
    for (const bad of ["0/3", "4/3", "1/0", "a/b", "1"]) expect(() => parseShard(bad)).toThrow(/is not I\/N/);
  });

  it("gives every unit to exactly one shard", () => {
    for (let unit = 0; unit < 200; unit++) {
      const owners = [1, 2, 3].filter((index) => inShard(`debian/12/x86_64/6.1.0-${unit}-amd64`, { index, count: 3 }));
      expect(owners).toHaveLength(1);
    }
  });
});

describe("plan, sharded runs and merge", () => {
  let work: string;
  let mirror: AptMirror;
  let server: StaticServer;
  const config = (name: string) => join(work, `${name}.json`);
  const manifestOf = async (archive: string) => await readManifest(join(work, archive));
  const debs = () => server.requests.filter((request) => request.path.endsWith(".deb")).length;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-shard-"));
    const vmlinux = await makeVmlinux(join(work, "plain.o"));
    ({ mirror, server } = await serveBookwormMirror(
      work,
      flavors.flatMap((flavor) =>
        [1, 2].map((abi) => dbgPackage({ kernel: `6.1.0-${abi}-${flavor}`, version: `6.1.${abi}-1`, vmlinux })),
      ),
    ));
    for (const name of ["shard1", "shard2", "shard3", "whole"]) {
      await writeFile(
        config(name),
        JSON.stringify({
          archive: join(work, name),
          sources: [{ distro: "debian", release: "12", arch: "x86_64", mirror: server.url, keyring: mirror.keyring }],
        }),
      );
    }
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("plan lists every kernel as new and downloads no package", async () => {
    const plan = await runBtfmill(["plan", "--config", config("whole"), "--json"]);
    expect(plan.exitCode).toBe(0);
    const preview = JSON.parse(plan.stdout) as PlanPreview;
    expect(preview.kernels.map((kernel) => kernel.action)).toEqual(Array(6).fill("new"));
    expect(preview.sources).toEqual([{ source: "debian/12/x86_64", status: "ok", unchanged: 0 }]);
    expect(debs()).toBe(0);
  });

  it("three shards split the flavors without overlap, and merge puts every kernel in one archive", async () => {
    const shardKeys: string[][] = [];
    for (const index of [1, 2, 3]) {
      const planned = JSON.parse(
        (await runBtfmill(["plan", "--config", config(`shard${index}`), "--shard", `${index}/3`, "--json"])).stdout,
      ) as PlanPreview;
      const run = await runBtfmill(["run", "--config", config(`shard${index}`), "--shard", `${index}/3`]);
      expect(run.exitCode).toBe(0);
      const keys = Object.keys((await manifestOf(`shard${index}`)).kernels).sort();
      expect(keys).toEqual(planned.kernels.map((kernel) => kernel.kernel).sort());
      shardKeys.push(keys);
    }
    const all = shardKeys.flat().sort();
    expect(all).toEqual(
      flavors.flatMap((flavor) => [1, 2].map((abi) => `debian/12/x86_64/6.1.0-${abi}-${flavor}`)).sort(),
    );
    expect(new Set(all).size).toBe(6);
    expect(shardKeys.every((keys) => keys.length === 2)).toBe(true);
    expect(debs()).toBe(6);

    const merged = await runBtfmill([
      "merge",
      join(work, "shard1"),
      join(work, "shard2"),
      join(work, "shard3"),
      "--out",
      join(work, "merged"),
    ]);
    expect(merged.exitCode).toBe(0);
    expect(merged.stderr).toContain("6 kernels, 6 files copied, 0 kernel(s) in several inputs");
    const manifest = await manifestOf("merged");
    expect(Object.keys(manifest.kernels).sort()).toEqual(all);
    for (const entry of Object.values(manifest.kernels)) {
      expect(await digestFile(join(work, "merged", entry.tarball!.path))).toEqual({
        sha256: entry.tarball!.sha256,
        size: entry.tarball!.size,
      });
    }
    expect(manifest.sources["debian/12/x86_64"]?.status).toBe("ok");

    const again = await runBtfmill(["merge", join(work, "shard1"), "--out", join(work, "merged")]);
    expect(again.stderr).toContain("6 kernels, 0 files copied, 2 kernel(s) in several inputs");
  });

  it("prefers an ok entry over a failed one for the same kernel, and refuses a damaged input without touching the output", async () => {
    const shard1 = await manifestOf("shard1");
    const [key, okEntry] = Object.entries(shard1.kernels)[0]!;
    const failedCopy: Manifest = {
      ...shard1,
      kernels: {
        [key]: {
          ...okEntry,
          status: "failed",
          reason: "FetchError: reset",
          transient: true,
          updatedAt: "2099-01-01T00:00:00.000Z",
        },
      },
    };
    await mkdir(join(work, "failed-shard"));
    await writeManifest(join(work, "failed-shard"), failedCopy);
    await runBtfmill(["merge", join(work, "failed-shard"), join(work, "shard1"), "--out", join(work, "preferred")]);
    expect((await manifestOf("preferred")).kernels[key]).toMatchObject({ status: "ok" });

    await writeFile(join(work, "shard2", okEntryPath(await manifestOf("shard2"))), "damaged");
    const damaged = await runBtfmill([
      "merge",
      join(work, "shard3"),
      join(work, "shard2"),
      "--out",
      join(work, "fresh"),
    ]);
    expect(damaged.exitCode).toBe(1);
    expect(damaged.stderr).toMatch(/IntegrityError: .* its manifest says/);
    await expect(readFile(join(work, "fresh", "manifest.json"))).rejects.toThrow(/ENOENT/);
  });
});

function okEntryPath(manifest: Manifest): string {
  return Object.values(manifest.kernels).find((entry) => entry.status === "ok")!.tarball!.path;
}
