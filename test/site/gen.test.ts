// `btfmill gen` from each kind of source: a btfmill archive, a BTFHub-layout folder, a btfmill site
// published with full BTF (over HTTP on 127.0.0.1), and btfhub-archive over HTTPS as a loopback
// server answering GitHub's git trees API and raw URLs. Every output is bpftool's own result on
// the full BTF, every download is cached by content, and a second run redoes nothing.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifest, writeManifest } from "../../archive/state.ts";
import { genTools } from "../../pipeline/commands/gen-command.ts";
import { stopSpawner } from "../../pipeline/tools/spawner.ts";
import { gen, type GenOptions } from "../../site/gen.ts";
import { gitBlobSha1 } from "../../site/gen-sources.ts";
import { publishSite } from "../../site/publish.ts";
import { makeCoreObject } from "../fixtures/bpf-objects.ts";
import { makeSiteArchive, type SiteArchive } from "../fixtures/site-archive.ts";
import { ciliumChecker, runCiliumCheck } from "../helpers/cilium-check.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

/** A loopback btfhub-archive: GitHub's trees API under /api, raw files under /raw; `tamper` serves other bytes for a path. */
async function startBtfhubServer(
  root: string,
  files: string[],
): Promise<{ server: Server; url: string; requests: string[]; tamper: Set<string> }> {
  const blobs = new Map<string, Buffer>();
  for (const path of files) blobs.set(path, await readFile(join(root, path)));
  const requests: string[] = [];
  const tamper = new Set<string>();
  const tree = {
    sha: "0".repeat(40),
    truncated: false,
    tree: [
      { path: "README.md", type: "blob", sha: gitBlobSha1(Buffer.from("btfhub")), size: 6 },
      ...[...new Set(files.map((path) => path.split("/")[0]!))].map((dir) => ({
        path: dir,
        type: "tree",
        sha: "1".repeat(40),
      })),
      ...[...blobs].map(([path, bytes]) => ({ path, type: "blob", sha: gitBlobSha1(bytes), size: bytes.length })),
    ],
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    requests.push(url.pathname + url.search);
    if (
      url.pathname === "/api/repos/aquasecurity/btfhub-archive/git/trees/main" &&
      url.searchParams.get("recursive") === "1"
    ) {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(tree));
      return;
    }
    const path = decodeURIComponent(url.pathname.replace(/^\/raw\//, ""));
    const bytes = blobs.get(path);
    if (!url.pathname.startsWith("/raw/") || bytes === undefined) {
      response.writeHead(404).end();
      return;
    }
    const body = tamper.has(path)
      ? Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([bytes.at(-1)! ^ 1])])
      : bytes;
    response.writeHead(200, { "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}`, requests, tamper };
}

describe("btfmill gen", () => {
  let work: string;
  let archive: SiteArchive;
  let objects: string[];
  let btfhubFolder: string;
  let tarballs: string[];
  let expected: Map<string, Buffer>;
  let siteServer: StaticServer;
  let btfhub: Awaited<ReturnType<typeof startBtfhubServer>>;
  const run = (from: string, out: string, extra: Partial<GenOptions> = {}) =>
    gen({ objects, from, out: join(work, out), cache: join(work, "cache"), tools: genTools, ...extra });
  const outputs = async (out: string) => {
    const index = JSON.parse(await readFile(join(work, out, "index.json"), "utf8")) as {
      kernels: Record<string, { path: string }>;
    };
    return new Map(
      await Promise.all(
        Object.entries(index.kernels).map(
          async ([key, file]) => [key, await readFile(join(work, out, file.path))] as const,
        ),
      ),
    );
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-gen-"));
    archive = await makeSiteArchive(work);
    objects = [await makeCoreObject(work, "tcprtt"), await makeCoreObject(work, "flavors")];
    // A btfhub-archive clone: the same tarballs, no manifest.
    btfhubFolder = join(work, "btfhub-archive");
    await cp(join(archive.root, "ubuntu"), join(btfhubFolder, "ubuntu"), { recursive: true });
    tarballs = (await readdir(btfhubFolder, { recursive: true })).filter((path) => path.endsWith(".btf.tar.xz")).sort();
    // What Tracee's script makes: tar -xJf, then bpftool gen min_core_btf on each.
    expected = new Map();
    for (const tarball of tarballs) {
      const key = tarball.replace(/\.btf\.tar\.xz$/, "");
      const full = join(work, `${key.replaceAll("/", "_")}.full.btf`);
      await writeFile(
        full,
        (await execa("tar", ["-xJOf", join(btfhubFolder, tarball)], { encoding: "buffer" })).stdout,
      );
      const min = join(work, `${key.replaceAll("/", "_")}.min.btf`);
      await execa("bpftool", ["gen", "min_core_btf", full, min, ...objects]);
      expected.set(key, await readFile(min));
    }
    // A site published with no object set: full BTF at the root.
    const fullOnly = join(work, "archive-full");
    await cp(archive.root, fullOnly, { recursive: true });
    const manifest = await readManifest(fullOnly);
    for (const entry of Object.values(manifest.kernels)) delete entry.minified;
    await writeManifest(fullOnly, manifest);
    await publishSite({ archive: fullOnly, out: join(work, "site-full"), full: false });
    siteServer = await startStaticServer(join(work, "site-full"));
    btfhub = await startBtfhubServer(btfhubFolder, tarballs);
  });
  afterAll(async () => {
    await stopSpawner();
    await siteServer?.close();
    btfhub?.server.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("from a btfmill archive: bpftool's bytes for every kernel, coverage per kernel and object, and nothing redone the second time", async () => {
    const first = await run(archive.root, "from-archive", { emitGo: { packageName: "btfs" }, bundle: true });
    expect(first).toMatchObject({ minified: 3, unchanged: 0, failed: 0, downloads: 0 });
    expect(await outputs("from-archive")).toEqual(expected);
    // The arm64 kernel is the "renamed" one: tcprtt's srtt_us read breaks there; flavors' is guarded.
    expect(first.index.broken).toEqual([archive.keys.arm64]);
    const arm64 = first.index.coverage[archive.keys.arm64]!;
    expect(arm64.find((object) => object.object === "tcprtt.o")!.unresolved.map((miss) => miss.name)).toEqual([
      "struct tcp_sock::srtt_us",
    ]);
    expect(arm64.find((object) => object.object === "flavors.o")!.unresolved).toEqual([]);
    expect(await readFile(join(work, "from-archive", "btf_embed.go"), "utf8")).toContain("package btfs");
    // The bundle per arch holds the same files under their root paths, as publish's bundles do.
    expect(first.index.bundles!.map((bundle) => [bundle.path, bundle.files])).toEqual([
      ["bundles/gen/x86_64.tar.xz", 2],
      ["bundles/gen/arm64.tar.xz", 1],
    ]);
    const listed = (await execa("tar", ["-tJf", join(work, "from-archive", "bundles/gen/x86_64.tar.xz")])).stdout
      .split("\n")
      .sort();
    expect(listed).toEqual(
      [...expected.keys()]
        .filter((key) => key.includes("/x86_64/"))
        .map((key) => `${key}.btf`)
        .sort(),
    );
    const bundleBytes = await readFile(join(work, "from-archive", "bundles/gen/x86_64.tar.xz"));
    const second = await run(archive.root, "from-archive", { bundle: true });
    expect(second).toMatchObject({ minified: 0, unchanged: 3, failed: 0 });
    expect(second.index.coverage).toEqual(first.index.coverage);
    expect(second.index.bundles).toEqual(first.index.bundles);
    expect(await readFile(join(work, "from-archive", "bundles/gen/x86_64.tar.xz"))).toEqual(bundleBytes);
  });

  it("every file gen writes gives cilium/ebpf the same CO-RE fixups as the full BTF", async (context) => {
    const checker = await ciliumChecker();
    context.skip("skip" in checker, "skip" in checker ? checker.skip : "");
    for (const key of expected.keys()) {
      const full = join(work, `${key.replaceAll("/", "_")}.full.btf`);
      const report = await runCiliumCheck(
        "binary" in checker ? checker.binary : "",
        full,
        join(work, "from-archive", `${key}.btf`),
        objects,
      );
      expect([key, report.exitCode, report.differences]).toEqual([key, 0, []]);
    }
  });

  it("from a BTFHub-layout folder, filtered by arch alias: the same bytes", async () => {
    const summary = await run(btfhubFolder, "from-folder", { arch: "amd64" });
    expect(summary).toMatchObject({ minified: 2, failed: 0 });
    expect(await outputs("from-folder")).toEqual(new Map([...expected].filter(([key]) => key.includes("/x86_64/"))));
  });

  it("from a site published with full BTF: each file downloaded once, checked by sha256, cached by content", async () => {
    const first = await run(siteServer.url, "from-site");
    expect(first).toMatchObject({ minified: 3, failed: 0, downloads: 3 });
    expect(await outputs("from-site")).toEqual(expected);
    const before = siteServer.requests.filter((request) => request.path.endsWith(".btf")).length;
    const again = await run(siteServer.url, "from-site-again");
    expect(again).toMatchObject({ minified: 3, downloads: 0 });
    expect(siteServer.requests.filter((request) => request.path.endsWith(".btf")).length).toBe(before);
  });

  it("from a site for one arch: only the manifest parts of that arch's sources are fetched", async () => {
    const before = siteServer.requests.length;
    const summary = await run(siteServer.url, "from-site-arm64", { arch: "aarch64" });
    expect(summary).toMatchObject({ minified: 1, failed: 0 });
    expect(await outputs("from-site-arm64")).toEqual(new Map([...expected].filter(([key]) => key.includes("/arm64/"))));
    expect(
      siteServer.requests
        .slice(before)
        .map((request) => request.path)
        .filter((path) => path.startsWith("/manifest")),
    ).toEqual(["/manifest.json", "/manifest/ubuntu/20.04/arm64.json"]);
  });

  it("from btfhub-archive over HTTPS (loopback): the tree from the git trees API, files from raw URLs checked by git blob sha1, then nothing downloaded", async () => {
    const btfhubOptions = {
      btfhub: { api: `${btfhub.url}/api/repos/aquasecurity/btfhub-archive`, raw: `${btfhub.url}/raw`, ref: "main" },
    };
    const tampered = tarballs[0]!;
    btfhub.tamper.add(tampered);
    const cache = join(work, "btfhub-cache");
    const refused = await run("btfhub", "from-btfhub-bad", { ...btfhubOptions, cache });
    expect(refused.failed).toBe(1);
    expect(Object.values(refused.index.failed)[0]).toContain("has git-sha1");
    btfhub.tamper.clear();
    const first = await run("btfhub", "from-btfhub", { ...btfhubOptions, cache });
    expect(first).toMatchObject({ minified: 3, failed: 0, downloads: 1 });
    expect(await outputs("from-btfhub")).toEqual(expected);
    const raws = btfhub.requests.filter((path) => path.startsWith("/raw/")).length;
    const again = await run("btfhub", "from-btfhub-2", { ...btfhubOptions, cache });
    expect(again).toMatchObject({ minified: 3, downloads: 0 });
    expect(btfhub.requests.filter((path) => path.startsWith("/raw/")).length).toBe(raws);
  });

  it("the CLI reports coverage per kernel and object as JSON and exits 1 when an object breaks on a kernel", async () => {
    const cli = await runBtfmill([
      "gen",
      "--objects",
      ...objects,
      "--from",
      btfhubFolder,
      "--out",
      join(work, "cli"),
      "--cache",
      join(work, "cache"),
      "--json",
    ]);
    expect(cli.exitCode).toBe(1);
    const report = JSON.parse(cli.stdout) as {
      minified: number;
      kernels: Record<
        string,
        { file: string; objects: { object: string; unresolved: unknown[]; guarded: unknown[] }[] }
      >;
    };
    expect(report.minified).toBe(3);
    expect(
      report.kernels[archive.keys.arm64]!.objects.map((object) => [object.object, object.unresolved.length]),
    ).toEqual([
      ["tcprtt.o", 1],
      ["flavors.o", 0],
    ]);
    const text = await runBtfmill([
      "gen",
      "--objects",
      objects[1]!,
      "--from",
      btfhubFolder,
      "--out",
      join(work, "cli-flavors"),
      "--cache",
      join(work, "cache"),
    ]);
    expect(text.exitCode).toBe(0);
    expect(text.stderr).toContain("3 minified, 0 unchanged, 0 failed, 0 with relocations that do not resolve");
  });

  it("an object path that names no file is a ConfigError naming it, and nothing is written", async () => {
    const missing = join(work, "missing.o");
    const cli = await runBtfmill([
      "gen",
      "--objects",
      objects[0]!,
      missing,
      "--from",
      btfhubFolder,
      "--out",
      join(work, "cli-missing"),
    ]);
    expect(cli.exitCode).toBe(2);
    expect(cli.stderr).toContain(`ConfigError: cannot read the BPF object ${missing}`);
    expect(cli.stderr).toContain("give --objects the paths of compiled BPF objects");
    await expect(readdir(join(work, "cli-missing"))).rejects.toThrow(/ENOENT/);
  });
});
