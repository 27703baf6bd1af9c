// The consumer side against a real published tree (btfmill publish of a fixture archive, served
// on 127.0.0.1): lookup by os-release/arch/uname -r with the reverse index as fallback, and pull
// with signature check, sha256 verification, incremental re-runs and `--emit go`; each fetching
// only the manifest parts of the sources it needs, and a v1 site (no parts) read as before.
import { generateKeyPairSync } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import { IntegrityError } from "../../archive/errors.ts";
import { normalizeArch } from "../../site/arch.ts";
import type { CdnManifest, CdnPart, CdnRoot, UnameIndex } from "../../site/cdn-manifest.ts";
import { lookupKernel } from "../../site/lookup.ts";
import { lookup } from "../../site/lookup-host.ts";
import { parseOsRelease } from "../../site/os-release.ts";
import { publishSite } from "../../site/publish.ts";
import { pull } from "../../site/pull.ts";
import { loadSigningKey, signManifest, verifyManifest } from "../../site/publish-signature.ts";
import type { PullIndex } from "../../site/pull-index.ts";
import { matchSources, readSiteManifest, readUnameIndex } from "../../site/read-manifest.ts";
import { openSite } from "../../site/site-source.ts";
import { makeSiteArchive, type SiteArchive } from "../fixtures/site-archive.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { ciliumGo, goBuild } from "../helpers/cilium-check.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

describe("os-release and arch normalisation", () => {
  it("reads quoted, capitalised and commented os-release files, and rolling releases without VERSION_ID", () => {
    expect(
      parseOsRelease('# comment\nNAME="Amazon Linux"\nID="amzn"\nVERSION_ID="2"\nID_LIKE="centos rhel fedora"\n'),
    ).toEqual({
      id: "amzn",
      versionId: "2",
      idLike: ["centos", "rhel", "fedora"],
    });
    expect(parseOsRelease("ID=Ubuntu\nVERSION_ID='20.04'\n")).toEqual({ id: "ubuntu", versionId: "20.04", idLike: [] });
    expect(parseOsRelease('PRETTY_NAME="Debian GNU/Linux trixie/sid"\nID=debian\n')).toEqual({
      id: "debian",
      versionId: undefined,
      idLike: [],
    });
    expect(parseOsRelease("NAME=nothing\n")).toBeUndefined();
  });

  it("folds arch aliases to x86_64 and arm64", () => {
    expect(["x86_64", "amd64", "X64", "aarch64", "arm64"].map(normalizeArch)).toEqual([
      "x86_64",
      "x86_64",
      "x86_64",
      "arm64",
      "arm64",
    ]);
    expect(normalizeArch("s390x")).toBeUndefined();
  });
});

describe("lookup and pull on a published site", () => {
  let work: string;
  let archive: SiteArchive;
  let site: string;
  let publicKey: string;
  let server: StaticServer;
  let manifest: CdnManifest;
  let unameIndex: UnameIndex;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-consumer-"));
    archive = await makeSiteArchive(work);
    const keys = generateKeyPairSync("ed25519");
    await writeFile(join(work, "signing.pem"), keys.privateKey.export({ type: "pkcs8", format: "pem" }));
    publicKey = join(work, "signing.pub.pem");
    await writeFile(publicKey, keys.publicKey.export({ type: "spki", format: "pem" }));
    site = join(work, "site");
    await publishSite({ archive: archive.root, out: site, full: false, keyFile: join(work, "signing.pem") });
    server = await startStaticServer(site);
    manifest = await readSiteManifest(openSite(site), { publicKey });
    unameIndex = await readUnameIndex(openSite(site), manifest);
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const ubuntu = (versionId?: string) => ({ id: "ubuntu", versionId, idLike: ["debian"] });
  const partPaths = [
    "/manifest/ubuntu/18.04/x86_64.json",
    "/manifest/ubuntu/20.04/arm64.json",
    "/manifest/ubuntu/20.04/x86_64.json",
    "/manifest/ubuntu/22.04/x86_64.json",
  ];
  const requestedSince = (start: number) =>
    server.requests
      .slice(start)
      .map((request) => request.path)
      .sort();

  it("finds a kernel by os-release, arch alias and uname -r", () => {
    expect(
      lookupKernel(manifest, unameIndex, { osRelease: ubuntu("20.04"), kernel: "5.8.0-63-generic", arch: "x86_64" }),
    ).toMatchObject({
      status: "found",
      key: archive.keys.x86,
      viaUnameIndex: false,
      file: { path: `${archive.keys.x86}.btf` },
    });
    expect(
      lookupKernel(manifest, unameIndex, {
        osRelease: ubuntu("20.04"),
        kernel: "5.4.0-84-generic",
        arch: normalizeArch("aarch64")!,
      }),
    ).toMatchObject({
      status: "found",
      key: archive.keys.arm64,
    });
    expect(
      lookupKernel(manifest, unameIndex, {
        osRelease: ubuntu("20.04"),
        kernel: "5.8.0-63-generic",
        arch: "x86_64",
        set: "net",
      }),
    ).toMatchObject({
      status: "found",
      file: { path: `sets/net/${archive.keys.x86}.btf` },
    });
  });

  it("falls back on the reverse index for a container's own os-release and for a release without VERSION_ID", () => {
    const container = lookupKernel(manifest, unameIndex, {
      osRelease: { id: "alpine", versionId: "3.19", idLike: [] },
      kernel: "5.8.0-63-generic",
      arch: "x86_64",
    });
    expect(container).toMatchObject({ status: "found", key: archive.keys.otherRelease, viaUnameIndex: true });
    expect(container.status === "found" && container.note).toContain(
      "os-release says alpine 3.19; kernel 5.8.0-63-generic is published as ubuntu/18.04/x86_64/5.8.0-63-generic",
    );
    expect(
      lookupKernel(manifest, unameIndex, { osRelease: ubuntu(undefined), kernel: "5.4.0-84-generic", arch: "arm64" }),
    ).toMatchObject({
      status: "found",
      key: archive.keys.arm64,
      viaUnameIndex: true,
    });
  });

  it("says when a kernel failed, already has BTF, or is unknown", () => {
    expect(
      lookupKernel(manifest, unameIndex, { osRelease: ubuntu("20.04"), kernel: "5.4.0-99-generic", arch: "x86_64" }),
    ).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("holds no vmlinux"),
    });
    expect(
      lookupKernel(manifest, unameIndex, { osRelease: ubuntu("22.04"), kernel: "5.15.0-25-generic", arch: "x86_64" }),
    ).toMatchObject({
      status: "has-btf",
      reason: expect.stringContaining("ships BTF"),
    });
    expect(
      lookupKernel(manifest, unameIndex, { osRelease: ubuntu("20.04"), kernel: "9.9.9-1-generic", arch: "x86_64" }),
    ).toMatchObject({
      status: "unknown",
      tried: ["ubuntu/20.04/x86_64/9.9.9-1-generic", "uname -r 9.9.9-1-generic (x86_64) in the reverse index"],
    });
  });

  it("lookup over HTTP gives a URL whose bytes match the signed manifest; the CLI exits 1 for an unknown kernel", async () => {
    const osRelease = join(work, "os-release");
    await writeFile(osRelease, 'ID="ubuntu"\nVERSION_ID="20.04"\n');
    const found = await lookup({
      from: server.url,
      osReleaseFile: osRelease,
      kernel: "5.8.0-63-generic",
      arch: "amd64",
      publicKey,
    });
    expect(found.url).toBe(`${server.url}/${archive.keys.x86}.btf`);
    const bytes = Buffer.from(await (await fetch(found.url!)).arrayBuffer());
    expect(found.status === "found" && found.file.size).toBe(bytes.length);

    const cli = await runBtfmill([
      "lookup",
      "--from",
      server.url,
      "--os-release",
      osRelease,
      "--kernel",
      "5.8.0-63-generic",
      "--arch",
      "x86_64",
    ]);
    expect(cli.exitCode).toBe(0);
    expect(cli.stdout).toBe(`${server.url}/${archive.keys.x86}.btf`);
    const unknown = await runBtfmill([
      "lookup",
      "--from",
      site,
      "--os-release",
      osRelease,
      "--kernel",
      "9.9.9-1-generic",
      "--arch",
      "x86_64",
    ]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain("unknown kernel: tried ubuntu/20.04/x86_64/9.9.9-1-generic");
  });

  it("pulls every file of a set with its index and Go embed file, then downloads nothing the second time", async () => {
    const out = join(work, "pulled");
    const first = await pull({ from: server.url, out, publicKey, emitGo: { packageName: "btfs" } });
    expect(first).toMatchObject({ downloaded: 3, unchanged: 0, removed: 0 });
    const index = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as PullIndex;
    expect(Object.keys(index.kernels).sort()).toEqual(
      [archive.keys.otherRelease, archive.keys.arm64, archive.keys.x86].sort(),
    );
    expect(index.hasBtf).toEqual([archive.keys.skipped]);
    expect(Object.keys(index.failed)).toEqual([archive.keys.failed]);
    for (const [key, file] of Object.entries(index.kernels)) {
      expect(file.path).toBe(`${key}.btf`);
      expect(await digestFile(join(out, file.path))).toEqual({ sha256: file.sha256, size: file.size });
    }
    const go = await readFile(join(out, "btf_embed.go"), "utf8");
    expect(go).toContain("package btfs");
    expect(go).toContain("//go:embed index.json ubuntu\n");
    expect(go).toContain("func Lookup(id, versionID, arch, release string) ([]byte, error)");

    const before = server.requests.length;
    const second = await pull({ from: server.url, out, publicKey });
    expect(second).toMatchObject({ downloaded: 0, unchanged: 3 });
    expect(server.requests.slice(before).filter((request) => request.path.endsWith(".btf"))).toEqual([]);

    await writeFile(join(out, `${archive.keys.x86}.btf`), "damaged");
    expect(await pull({ from: server.url, out })).toMatchObject({ downloaded: 1, unchanged: 2 });

    const narrowed = await runBtfmill(["pull", "--from", site, "--out", out, "--arch", "aarch64", "--set", "net"]);
    expect(narrowed.exitCode).toBe(0);
    expect(narrowed.stderr).toContain("1 downloaded");
    expect(narrowed.stderr).toContain("2 removed");
  });

  it("the emitted btf_embed.go compiles, looks hosts up (arch aliases too) and cilium/ebpf loads what it returns", async (context) => {
    const go = await ciliumGo();
    context.skip("skip" in go, "skip" in go ? go.skip : "");
    const gopath = "gopath" in go ? go.gopath : "";
    // GOPATH mode: the pulled tree is package `btfs` under a GOPATH of its own, as a project would vendor it.
    const project = join(work, "go-project");
    await pull({ from: server.url, out: join(project, "src", "btfs"), publicKey, emitGo: { packageName: "btfs" } });
    const binary = join(work, "btf-embed-lookup");
    await goBuild(fileURLToPath(new URL("../consumers/btf-embed-lookup/main.go", import.meta.url)), binary, [
      project,
      gopath,
    ]);
    const run = async (key: string, arch: string) => {
      const [distro, release, , kernel] = key.split("/") as [string, string, string, string];
      return JSON.parse((await execa(binary, [distro, release, arch, kernel, "task_struct"])).stdout) as Record<
        string,
        unknown
      >;
    };
    const pulled = JSON.parse(await readFile(join(project, "src", "btfs", "index.json"), "utf8")) as PullIndex;
    for (const [key, arch] of [
      [archive.keys.x86, "x86_64"],
      [archive.keys.x86, "amd64"],
      [archive.keys.otherRelease, "amd64"],
      [archive.keys.arm64, "aarch64"],
      [archive.keys.arm64, "arm64"],
    ] as const) {
      const found = await run(key, arch);
      expect(found, `${key} as ${arch}`).toMatchObject({ found: true, size: pulled.kernels[key]!.size, hasType: true });
      expect(found.types as number, key).toBeGreaterThan(1);
      expect(found.error, key).toBeUndefined();
    }
    expect(await run(archive.keys.failed, "x86_64")).toEqual({ found: false, size: 0, types: 0, hasType: false });
    expect(await run(archive.keys.x86, "s390x")).toEqual({ found: false, size: 0, types: 0, hasType: false });
  });

  it("pulls the same files from the bundles as one by one, with one request per arch, and refuses an altered bundle", async () => {
    const oneByOne = join(work, "pulled-files");
    const bundled = join(work, "pulled-bundle");
    expect(await pull({ from: server.url, out: oneByOne, via: "files" })).toMatchObject({
      downloaded: 3,
      bundles: 0,
      fromBundles: 0,
    });
    const before = server.requests.length;
    expect(await pull({ from: server.url, out: bundled, via: "bundle" })).toMatchObject({
      downloaded: 3,
      bundles: 2,
      fromBundles: 3,
    });
    expect(
      server.requests
        .slice(before)
        .map((request) => request.path)
        .sort(),
    ).toEqual(["/bundles/all/arm64.tar.xz", "/bundles/all/x86_64.tar.xz", "/manifest.json", ...partPaths]);
    const files = async (dir: string) => {
      const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as PullIndex;
      return Promise.all(
        Object.values(index.kernels).map(async (file) => ({
          path: file.path,
          ...(await digestFile(join(dir, file.path))),
        })),
      );
    };
    expect(await files(bundled)).toEqual(await files(oneByOne));
    expect(await readFile(join(bundled, "index.json"), "utf8")).toBe(
      await readFile(join(oneByOne, "index.json"), "utf8"),
    );

    // Nothing missing: the bundle is not even fetched.
    const again = server.requests.length;
    expect(await pull({ from: server.url, out: bundled, via: "bundle" })).toMatchObject({
      downloaded: 0,
      unchanged: 3,
      bundles: 0,
    });
    expect(
      server.requests
        .slice(again)
        .map((request) => request.path)
        .sort(),
    ).toEqual(["/manifest.json", ...partPaths]);

    const copy = join(work, "tampered-bundle-site");
    await cp(site, copy, { recursive: true, dereference: true });
    const bundlePath = join(copy, "bundles", "all", "x86_64.tar.xz");
    const bytes = await readFile(bundlePath);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(bundlePath, bytes);
    await rm(join(bundled, `${archive.keys.x86}.btf`));
    await expect(pull({ from: copy, out: bundled, via: "bundle", arch: "x86_64" })).rejects.toThrow(IntegrityError);
    await expect(readFile(join(bundled, `${archive.keys.x86}.btf`))).rejects.toThrow(/ENOENT/);

    const cli = await runBtfmill(["pull", "--from", site, "--out", bundled, "--via", "bundle", "--json"]);
    expect(cli.exitCode).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ downloaded: 1, bundles: 1, fromBundles: 1 });
    const wrong = await runBtfmill(["pull", "--from", site, "--out", bundled, "--via", "tarball"]);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain("--via tarball: use auto, bundle, files");
  });

  it("a pull for one source fetches the root, its signature, that source's part and its files, nothing else", async () => {
    const before = server.requests.length;
    const summary = await pull({
      from: server.url,
      out: join(work, "pulled-one-source"),
      publicKey,
      distro: "ubuntu",
      release: "20.04",
      arch: "amd64",
    });
    expect(summary).toMatchObject({ downloaded: 1, unchanged: 0 });
    expect(Object.keys(summary.index.kernels)).toEqual([archive.keys.x86]);
    expect(Object.keys(summary.index.failed)).toEqual([archive.keys.failed]);
    expect(requestedSince(before)).toEqual([
      "/manifest.json",
      "/manifest.json.sig",
      "/manifest/ubuntu/20.04/x86_64.json",
      `/${archive.keys.x86}.btf`,
    ]);
  });

  it("a lookup reads only its host's part, and the uname index and the parts it names when it falls back", async () => {
    const osRelease = join(work, "os-release-parts");
    await writeFile(osRelease, 'ID="ubuntu"\nVERSION_ID="20.04"\n');
    let before = server.requests.length;
    const own = await lookup({
      from: server.url,
      osReleaseFile: osRelease,
      kernel: "5.4.0-84-generic",
      arch: "aarch64",
    });
    expect(own).toMatchObject({ status: "found", key: archive.keys.arm64, viaUnameIndex: false });
    expect(requestedSince(before)).toEqual(["/manifest.json", "/manifest/ubuntu/20.04/arm64.json"]);

    await writeFile(osRelease, 'ID="alpine"\nVERSION_ID="3.19"\n');
    before = server.requests.length;
    const container = await lookup({
      from: server.url,
      osReleaseFile: osRelease,
      kernel: "5.8.0-63-generic",
      arch: "x86_64",
    });
    expect(container).toMatchObject({ status: "found", key: archive.keys.otherRelease, viaUnameIndex: true });
    expect(requestedSince(before)).toEqual([
      "/index/uname.json",
      "/manifest.json",
      "/manifest/ubuntu/18.04/x86_64.json",
      "/manifest/ubuntu/20.04/x86_64.json",
    ]);
  });

  it("refuses a part altered after signing, naming it, though the root's signature verifies; other sources still pull", async () => {
    const copy = join(work, "tampered-part-site");
    await cp(site, copy, { recursive: true, dereference: true });
    const partPath = join(copy, "manifest", "ubuntu", "20.04", "x86_64.json");
    await writeFile(
      partPath,
      (await readFile(partPath, "utf8")).replace("holds no vmlinux", "holds no vmlinux, fetch it from elsewhere"),
    );
    const root = await readFile(join(copy, "manifest.json"));
    expect(
      verifyManifest(root, await readFile(join(copy, "manifest.json.sig"), "utf8"), await readFile(publicKey, "utf8")),
    ).toBe(true);
    const out = join(work, "pulled-tampered-part");
    const refused = pull({ from: copy, out, publicKey, release: "20.04", arch: "x86_64" });
    await expect(refused).rejects.toThrow(IntegrityError);
    await expect(refused).rejects.toThrow(
      /manifest part manifest\/ubuntu\/20\.04\/x86_64\.json .* the manifest root says/,
    );
    await expect(readFile(join(out, "index.json"))).rejects.toThrow(/ENOENT/);
    const cli = await runBtfmill(["pull", "--from", copy, "--out", out, "--public-key", publicKey]);
    expect(cli.exitCode).not.toBe(0);
    expect(cli.stderr).toContain("manifest part manifest/ubuntu/20.04/x86_64.json");
    expect(await pull({ from: copy, out, publicKey, arch: "arm64" })).toMatchObject({ downloaded: 1 });
  });

  it("still reads a v1 site, one signed manifest.json with every kernel: pull, a narrowed pull, and lookup with its fallback", async () => {
    // A v1 manifest is today's root with the parts' kernels in it instead of `parts`: what publish
    // wrote before the split, signed with the same key.
    const v1 = join(work, "v1-site");
    await cp(site, v1, { recursive: true, dereference: true });
    const {
      parts,
      schemaVersion: _,
      ...root
    } = JSON.parse(await readFile(join(v1, "manifest.json"), "utf8")) as CdnRoot;
    const kernels = [];
    for (const part of parts)
      kernels.push(...(JSON.parse(await readFile(join(v1, part.path), "utf8")) as CdnPart).kernels);
    await rm(join(v1, "manifest"), { recursive: true });
    const bytes = Buffer.from(`${JSON.stringify({ ...root, schemaVersion: 1, kernels }, null, 1)}\n`);
    await writeFile(join(v1, "manifest.json"), bytes);
    const signingKey = await loadSigningKey(join(work, "signing.pem"));
    await writeFile(join(v1, "manifest.json.sig"), signManifest(bytes, signingKey).signature);
    const v1Server = await startStaticServer(v1);
    try {
      const whole = await readSiteManifest(openSite(v1Server.url), { publicKey });
      expect(whole).toMatchObject({ schemaVersion: 1, parts: [] });
      expect(whole.kernels).toEqual(manifest.kernels);
      const arm = await readSiteManifest(openSite(v1), { sources: matchSources({ arch: "arm64" }) });
      expect(arm.kernels.map((kernel) => kernel.key)).toEqual([archive.keys.arm64]);

      const out = join(work, "pulled-v1");
      const before = v1Server.requests.length;
      expect(await pull({ from: v1Server.url, out, publicKey })).toMatchObject({ downloaded: 3 });
      expect(
        v1Server.requests
          .slice(before)
          .map((request) => request.path)
          .filter((path) => !path.endsWith(".btf")),
      ).toEqual(["/manifest.json", "/manifest.json.sig"]);
      const narrowed = await pull({ from: v1Server.url, out, publicKey, release: "20.04", arch: "x86_64" });
      expect(Object.keys(narrowed.index.kernels)).toEqual([archive.keys.x86]);
      expect(narrowed).toMatchObject({ downloaded: 0, unchanged: 1, removed: 2 });

      const osRelease = join(work, "os-release-v1");
      await writeFile(osRelease, 'ID="ubuntu"\nVERSION_ID="20.04"\n');
      expect(
        await lookup({
          from: v1Server.url,
          osReleaseFile: osRelease,
          kernel: "5.8.0-63-generic",
          arch: "x86_64",
          publicKey,
        }),
      ).toMatchObject({ status: "found", key: archive.keys.x86, url: `${v1Server.url}/${archive.keys.x86}.btf` });
      await writeFile(osRelease, "ID=alpine\nVERSION_ID=3.19\n");
      expect(
        await lookup({ from: v1Server.url, osReleaseFile: osRelease, kernel: "5.8.0-63-generic", arch: "x86_64" }),
      ).toMatchObject({ status: "found", key: archive.keys.otherRelease, viaUnameIndex: true });
    } finally {
      await v1Server.close();
    }
  });

  it("rejects a tampered file and a tampered manifest, replacing nothing", async () => {
    const copy = join(work, "tampered-site");
    await cp(site, copy, { recursive: true, dereference: true });
    const out = join(work, "pulled-safe");
    await pull({ from: copy, out, publicKey });
    const good = await readFile(join(out, `${archive.keys.x86}.btf`));

    await writeFile(join(copy, `${archive.keys.x86}.btf`), Buffer.concat([good, Buffer.from("x")]).subarray(1));
    await rm(join(out, `${archive.keys.x86}.btf`));
    await expect(pull({ from: copy, out })).rejects.toThrow(IntegrityError);
    await expect(readFile(join(out, `${archive.keys.x86}.btf`))).rejects.toThrow(/ENOENT/);

    const manifestPath = join(copy, "manifest.json");
    await writeFile(
      manifestPath,
      (await readFile(manifestPath, "utf8")).replace('"generator": "btfmill"', '"generator": "evil"'),
    );
    await expect(pull({ from: copy, out, publicKey })).rejects.toThrow(/signature of .* does not verify/);
  });
});
