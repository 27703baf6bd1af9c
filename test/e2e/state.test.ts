// `--state URL|DIR`: a fresh machine starts from what was published, not from a local archive. It
// converts only kernels the site does not have, re-minifies only what changed objects need (full
// BTF fetched from the site's full/), and merge and publish complete the archive from the site.
import { generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import { readManifest, stateStore } from "../../archive/state.ts";
import type { PlanPreview } from "../../pipeline/plan-preview.ts";
import { readSiteManifest } from "../../site/read-manifest.ts";
import { openSite } from "../../site/site-source.ts";
import { dbgPackage, type AptPackageSpec } from "../fixtures/apt-mirror.ts";
import { serveBookwormMirror } from "../fixtures/bookworm-mirror.ts";
import { makeCoreObject } from "../fixtures/bpf-objects.ts";
import { checkArchiveMinified, ciliumChecker } from "../helpers/cilium-check.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

describe("btfmill run/plan/merge/publish --state", () => {
  let work: string;
  let oldMirror: { keyring: string; server: StaticServer };
  let newMirror: { keyring: string; server: StaticServer };
  let fullSite: StaticServer;
  let minifiedSite: StaticServer;
  let objects: Record<"tcprtt" | "kprobe", string>;
  let publicKey: string;
  let otherPublicKey: string;
  const kernels = ["6.1.0-1-amd64", "6.1.0-1-cloud-amd64", "6.1.0-2-amd64"];
  const key = (kernel: string) => `debian/12/x86_64/${kernel}`;
  const manifestOf = async (archive: string) => await readManifest(join(work, archive));
  const debsFetched = (server: StaticServer) =>
    server.requests
      .filter((request) => request.path.endsWith(".deb"))
      .map((request) => request.path.split("/").at(-1))
      .sort();
  const pathsAsked = (server: StaticServer, prefix: string) =>
    server.requests
      .filter((request) => request.path.startsWith(prefix))
      .map((request) => request.path)
      .sort();
  const writeConfig = async (
    name: string,
    mirror: { keyring: string; server: StaticServer },
    sets: Record<string, string[]>,
  ) => {
    const path = join(work, `${name}.json`);
    await writeFile(
      path,
      JSON.stringify({
        archive: join(work, name),
        sources: [
          {
            distro: "debian",
            release: "12",
            arch: "x86_64",
            mirror: mirror.server.url,
            keyring: mirror.keyring,
            kernelsWithBtf: "all",
          },
        ],
        objects: sets,
      }),
    );
    return path;
  };
  const serveMirror = async (dir: string, packages: AptPackageSpec[]) => {
    const { mirror, server } = await serveBookwormMirror(join(work, dir), packages);
    return { keyring: mirror.keyring, server };
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-state-"));
    await mkdir(join(work, "objects"));
    objects = {
      tcprtt: await makeCoreObject(join(work, "objects"), "tcprtt"),
      kprobe: await makeCoreObject(join(work, "objects"), "kprobe"),
    };
    const normal = await makeVmlinux(join(work, "normal.o"));
    const renamed = await makeVmlinux(join(work, "renamed.o"), { variant: "renamed" });
    const published = [
      dbgPackage({ kernel: kernels[0]!, version: "6.1.1-1", vmlinux: normal }),
      dbgPackage({ kernel: kernels[1]!, version: "6.1.1-1", vmlinux: renamed }),
    ];
    oldMirror = await serveMirror("old", published);
    newMirror = await serveMirror("new", [
      ...published,
      dbgPackage({ kernel: kernels[2]!, version: "6.1.2-1", vmlinux: normal }),
    ]);

    // Last night: two kernels converted, minified for one set and published, once with full/ and once without.
    const signing = generateKeyPairSync("ed25519");
    await writeFile(join(work, "signing.pem"), signing.privateKey.export({ type: "pkcs8", format: "pem" }));
    publicKey = join(work, "signing.pub.pem");
    await writeFile(publicKey, signing.publicKey.export({ type: "spki", format: "pem" }));
    otherPublicKey = join(work, "other.pub.pem");
    await writeFile(otherPublicKey, generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }));
    const lastNight = await writeConfig("last-night", oldMirror, { net: [objects.tcprtt] });
    expect((await runBtfmill(["run", "--config", lastNight])).exitCode).toBe(0);
    const full = await runBtfmill([
      "publish",
      "--config",
      lastNight,
      "--out",
      join(work, "site-full"),
      "--full",
      "--key",
      join(work, "signing.pem"),
    ]);
    expect(full.exitCode, full.stderr).toBe(0);
    expect((await runBtfmill(["publish", "--config", lastNight, "--out", join(work, "site-minified")])).exitCode).toBe(
      0,
    );
    fullSite = await startStaticServer(join(work, "site-full"));
    minifiedSite = await startStaticServer(join(work, "site-minified"));
  });

  afterAll(async () => {
    for (const server of [oldMirror?.server, newMirror?.server, fullSite, minifiedSite]) await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("publishes the archive manifest it was made from, named and digested in the signed manifest", async () => {
    const cdn = await readSiteManifest(openSite(join(work, "site-full")));
    expect(cdn.archiveManifest?.path).toBe("archive-manifest.json");
    expect(await digestFile(join(work, "site-full", "archive-manifest.json"))).toEqual({
      sha256: cdn.archiveManifest!.sha256,
      size: cdn.archiveManifest!.size,
    });
    // The root names each source's part by sha256; the store checks every part it reads against it.
    const site = join(work, "site-full");
    const store = stateStore(await readFile(join(site, "archive-manifest.json"), "utf8"), site, "", (path) =>
      readFile(join(site, path)),
    );
    expect([...store.sources.keys()]).toEqual(["debian/12/x86_64"]);
    expect(await store.readPart("debian/12/x86_64")).toEqual((await manifestOf("last-night")).kernels);
  });

  it("plans only the kernel the site lacks, downloading no package", async () => {
    const config = await writeConfig("fresh-plan", newMirror, { net: [objects.tcprtt] });
    const plan = await runBtfmill(["plan", "--config", config, "--state", fullSite.url, "--json"]);
    expect(plan.exitCode, plan.stderr).toBe(0);
    const preview = JSON.parse(plan.stdout) as PlanPreview;
    expect(preview.kernels.map((kernel) => [kernel.kernel, kernel.action])).toEqual([[key(kernels[2]!), "new"]]);
    expect(preview.sources.map((source) => [source.source, source.unchanged])).toEqual([["debian/12/x86_64", 2]]);
    expect(preview.minify).toEqual([]);
    expect(debsFetched(newMirror.server)).toEqual([]);
  });

  it("converts and minifies only the new kernel on a fresh machine, keeping the site's entries", async () => {
    const config = await writeConfig("fresh", newMirror, { net: [objects.tcprtt] });
    const before = newMirror.server.requests.length;
    const run = await runBtfmill(["run", "--config", config, "--state", fullSite.url, "--state-public-key", publicKey]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain("summary: 1 ok, 0 failed, 0 skipped, 2 unchanged, 2 minified");
    expect(debsFetched({ ...newMirror.server, requests: newMirror.server.requests.slice(before) })).toEqual([
      `linux-image-${kernels[2]}-dbg_6.1.2-1_amd64.deb`,
    ]);
    // Nothing needed re-minifying, so no full BTF came from the site.
    expect(pathsAsked(fullSite, "/full/")).toEqual([]);
    const fresh = await manifestOf("fresh");
    const lastNight = await manifestOf("last-night");
    expect(Object.keys(fresh.kernels).sort()).toEqual(kernels.map(key).sort());
    for (const kernel of kernels.slice(0, 2))
      expect(fresh.kernels[key(kernel)]).toEqual(lastNight.kernels[key(kernel)]);
    expect(Object.keys(fresh.kernels[key(kernels[2]!)]!.minified ?? {}).sort()).toEqual(["all", "net"]);
    // The site's kernels' files stay on the site: the fresh archive holds only its own work.
    await expect(stat(join(work, "fresh", fresh.kernels[key(kernels[0]!)]!.tarball!.path))).rejects.toThrow();
  });

  it("publishes a complete site from a fresh archive, fetching the site's files by sha256", async () => {
    const config = join(work, "fresh.json");
    const publish = await runBtfmill([
      "publish",
      "--config",
      config,
      "--out",
      join(work, "site-next"),
      "--full",
      "--state",
      fullSite.url,
    ]);
    expect(publish.exitCode, publish.stderr).toBe(0);
    const next = await readSiteManifest(openSite(join(work, "site-next")));
    const previous = await readSiteManifest(openSite(join(work, "site-full")));
    expect(next.kernels.map((kernel) => kernel.key)).toEqual(kernels.map(key).sort());
    for (const kernel of previous.kernels)
      expect(next.kernels.find((candidate) => candidate.key === kernel.key)!.files).toEqual(kernel.files);
    for (const kernel of next.kernels) {
      for (const file of [kernel.files.root, kernel.files.full, ...Object.values(kernel.files.sets)]) {
        expect(await digestFile(join(work, "site-next", file!.path))).toEqual({
          sha256: file!.sha256,
          size: file!.size,
        });
      }
    }
  });

  it("re-minifies every kernel for a changed set from the site's full BTF, downloading no package", async () => {
    const config = await writeConfig("changed-set", newMirror, { net: [objects.tcprtt, objects.kprobe] });
    const debsBefore = debsFetched(newMirror.server).length;
    const run = await runBtfmill(["run", "--config", config, "--state", fullSite.url]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain("summary: 1 ok, 0 failed, 0 skipped, 2 unchanged, 6 minified");
    expect(debsFetched(newMirror.server).length - debsBefore).toBe(1);
    const tarballs = pathsAsked(fullSite, "/full/").filter((path) => path.endsWith(".btf.tar.xz"));
    expect([...new Set(tarballs)]).toEqual(
      kernels
        .slice(0, 2)
        .map((kernel) => `/full/${key(kernel)}.btf.tar.xz`)
        .sort(),
    );
    const manifest = await manifestOf("changed-set");
    for (const kernel of kernels) {
      const net = manifest.kernels[key(kernel)]!.minified!.net!;
      expect(net.coverage.map((object) => object.object).sort()).toEqual(["kprobe.o", "tcprtt.o"]);
      expect(await digestFile(join(work, "changed-set", net.file!.path))).toEqual({
        sha256: net.file!.sha256,
        size: net.file!.size,
      });
    }
  });

  it("converts a kernel again only when a changed set needs full BTF a minified-only site lacks", async () => {
    const same = await writeConfig("from-minified", newMirror, { net: [objects.tcprtt] });
    const unchangedPlan = JSON.parse(
      (await runBtfmill(["plan", "--config", same, "--state", minifiedSite.url, "--json"])).stdout,
    ) as PlanPreview;
    expect(unchangedPlan.kernels.map((kernel) => kernel.action)).toEqual(["new"]);
    expect(unchangedPlan.sources[0]?.unchanged).toBe(2);

    const changed = await writeConfig("from-minified", newMirror, { net: [objects.tcprtt, objects.kprobe] });
    const changedPlan = JSON.parse(
      (await runBtfmill(["plan", "--config", changed, "--state", minifiedSite.url, "--json"])).stdout,
    ) as PlanPreview;
    expect(changedPlan.kernels.map((kernel) => kernel.action)).toEqual(["missing-file", "missing-file", "new"]);
    const debsBefore = debsFetched(newMirror.server).length;
    const run = await runBtfmill(["run", "--config", changed, "--state", minifiedSite.url]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain("summary: 3 ok, 0 failed, 0 skipped, 0 unchanged, 6 minified");
    expect(debsFetched(newMirror.server).length - debsBefore).toBe(3);
    const checker = await ciliumChecker();
    if ("binary" in checker) {
      const checked = await checkArchiveMinified(
        checker.binary,
        join(work, "from-minified"),
        await manifestOf("from-minified"),
        (name) => join(work, "objects", name),
      );
      expect(checked).toEqual({ files: 6, failures: [] });
    }
  });

  it("merges shards started from the site without their inputs holding the site's files", async () => {
    const config = await writeConfig("shard", newMirror, { net: [objects.tcprtt] });
    for (const shard of ["1/2", "2/2"]) {
      const body = JSON.parse(await readFile(config, "utf8")) as { archive: string };
      const shardConfig = join(work, `shard-${shard[0]}.json`);
      await writeFile(shardConfig, JSON.stringify({ ...body, archive: join(work, `shard-${shard[0]}`) }));
      const run = await runBtfmill(["run", "--config", shardConfig, "--state", fullSite.url, "--shard", shard]);
      expect(run.exitCode, run.stderr).toBe(0);
    }
    const refused = await runBtfmill([
      "merge",
      join(work, "shard-1"),
      join(work, "shard-2"),
      "--out",
      join(work, "merged-refused"),
    ]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("is missing, its manifest says");

    const merge = await runBtfmill([
      "merge",
      join(work, "shard-1"),
      join(work, "shard-2"),
      "--out",
      join(work, "merged"),
      "--state",
      fullSite.url,
      "--json",
    ]);
    expect(merge.exitCode, merge.stderr).toBe(0);
    const merged = await manifestOf("merged");
    expect(Object.keys(merged.kernels).sort()).toEqual(kernels.map(key).sort());
    expect(merged.kernels[key(kernels[2]!)]!.status).toBe("ok");
    const mergedConfig = join(work, "merged-config.json");
    await writeFile(mergedConfig, JSON.stringify({ archive: join(work, "merged"), sources: [], objects: {} }));
    const publish = await runBtfmill([
      "publish",
      "--config",
      mergedConfig,
      "--out",
      join(work, "site-merged"),
      "--state",
      fullSite.url,
    ]);
    expect(publish.exitCode, publish.stderr).toBe(0);
    const site = await readSiteManifest(openSite(join(work, "site-merged")));
    expect(site.kernels.filter((kernel) => kernel.files.root !== undefined)).toHaveLength(3);
  });

  it("refuses a state whose signature does not verify, before writing anything", async () => {
    const config = await writeConfig("untrusted", newMirror, { net: [objects.tcprtt] });
    const run = await runBtfmill([
      "run",
      "--config",
      config,
      "--state",
      fullSite.url,
      "--state-public-key",
      otherPublicKey,
    ]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("does not verify with");
    await expect(stat(join(work, "untrusted", "manifest.json"))).rejects.toThrow();
  });

  it("refuses a folder that is not a published site", async () => {
    const config = await writeConfig("not-a-site", newMirror, { net: [objects.tcprtt] });
    const run = await runBtfmill(["plan", "--config", config, "--state", join(work, "last-night")]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/is not a btfmill CDN manifest/);
  });
});
