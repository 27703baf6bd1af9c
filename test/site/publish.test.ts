// `btfmill publish` from the fixture archive: the tree, its manifest root and per-source parts
// against the published JSON Schema (checked by ajv, not by the zod schema it was generated from),
// parts rewritten only when their kernels change, the uname index, the
// solid bundles, `_headers`, the Ed25519 signature, and what a failed publish leaves behind.
import { createHash, generateKeyPairSync } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { execa } from "execa";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import { readManifest, writeManifest } from "../../archive/state.ts";
import { ConfigError, IntegrityError } from "../../archive/errors.ts";
import type { CdnKernel, CdnManifest, CdnPart, CdnRoot, UnameIndex } from "../../site/cdn-manifest.ts";
import { publishSite, type PublishResult } from "../../site/publish.ts";
import { pull } from "../../site/pull.ts";
import { verifyManifest } from "../../site/publish-signature.ts";
import { headersFor, parseHeaderRules } from "../../site/static-headers.ts";
import { makeSiteArchive, type SiteArchive } from "../fixtures/site-archive.ts";
import { checkArchiveMinified, ciliumChecker } from "../helpers/cilium-check.ts";

async function tarMembers(xzPath: string): Promise<Map<string, Buffer>> {
  const { stdout } = await execa("xz", ["-dc", xzPath], { encoding: "buffer" });
  const members = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: unknown) => void chunks.push(chunk as Buffer));
      stream.on("end", () => {
        members.set(header.name, Buffer.concat(chunks));
        next();
      });
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
  });
  extract.end(Buffer.from(stdout));
  await done;
  return members;
}

describe("btfmill publish", () => {
  let work: string;
  let archive: SiteArchive;
  let out: string;
  let manifest: CdnManifest;
  let tree: string;
  const treeFile = (path: string) => join(out, path);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-publish-"));
    archive = await makeSiteArchive(work);
    out = join(work, "site");
    ({ manifest, tree } = await publishSite({ archive: archive.root, out, full: true }));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("every minified file of the fixture archive gives cilium/ebpf the same CO-RE fixups as its full BTF", async (context) => {
    const checker = await ciliumChecker();
    context.skip("skip" in checker, "skip" in checker ? checker.skip : "");
    const binary = "binary" in checker ? checker.binary : "";
    // Three ok kernels x (all, net, probes).
    expect(
      await checkArchiveMinified(binary, archive.root, await readManifest(archive.root), (name) =>
        join(work, "objects", name),
      ),
    ).toEqual({ files: 9, failures: [] });
  });

  it("writes a root and one part per source that the published JSON Schema accepts, naming every file with its true sha256", async () => {
    const schema = JSON.parse(await readFile(treeFile("manifest.schema.json"), "utf8"));
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
    const root = JSON.parse(await readFile(treeFile("manifest.json"), "utf8")) as CdnRoot;
    expect(validate(root), JSON.stringify(validate.errors)).toBe(true);
    expect(root).toMatchObject({ schema: "btfmill-cdn-manifest", schemaVersion: 2 });
    expect(root).not.toHaveProperty("kernels");
    expect(root.parts.map((part) => [part.path, part.kernels])).toEqual([
      ["manifest/ubuntu/18.04/x86_64.json", 1],
      ["manifest/ubuntu/20.04/arm64.json", 1],
      ["manifest/ubuntu/20.04/x86_64.json", 2],
      ["manifest/ubuntu/22.04/x86_64.json", 1],
    ]);
    const kernels: CdnKernel[] = [];
    for (const ref of root.parts) {
      const part = JSON.parse(await readFile(treeFile(ref.path), "utf8")) as CdnPart;
      expect(validate(part), `${ref.path}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(part).toMatchObject({ schema: "btfmill-cdn-manifest-part", distro: ref.distro, release: ref.release });
      expect(
        part.kernels.map((kernel) => `${kernel.distro}/${kernel.release}/${kernel.arch}`),
        ref.path,
      ).toEqual(Array(ref.kernels).fill(`${ref.distro}/${ref.release}/${ref.arch}`));
      kernels.push(...part.kernels);
    }
    expect({ ...root, kernels }).toEqual(manifest);
    const [first] = root.parts;
    const broken = JSON.parse(await readFile(treeFile(first!.path), "utf8"));
    broken.kernels[0].files.root.sha256 = "not hex";
    expect(validate(broken)).toBe(false);
    // The kernels belong in the parts: a root that lists them is not a v2 root.
    expect(validate({ ...root, kernels: [] })).toBe(false);
    const files = [
      ...manifest.kernels.flatMap((kernel) => [
        kernel.files.root,
        kernel.files.full,
        ...Object.values(kernel.files.sets),
      ]),
      ...manifest.bundles,
      ...manifest.parts,
      manifest.unameIndex,
    ].filter((file) => file !== undefined);
    expect(files.length).toBe(3 * 4 + manifest.bundles.length + 4 + 1);
    for (const file of files)
      expect(await digestFile(treeFile(file.path)), file.path).toEqual({ sha256: file.sha256, size: file.size });
  });

  it("writes a part byte for byte again when its kernels did not change, and a new one only for the source whose kernel did", async () => {
    const copy = join(work, "archive-parts");
    await cp(archive.root, copy, { recursive: true });
    const at = join(work, "site-parts");
    const parts = async (result: PublishResult) =>
      new Map(
        await Promise.all(
          result.manifest.parts.map(async (part) => [part.path, await readFile(join(result.tree, part.path))] as const),
        ),
      );
    const first = await publishSite({ archive: copy, out: at, full: true, now: new Date(1000) });
    const firstParts = await parts(first);
    const same = await publishSite({ archive: copy, out: at, full: true, now: new Date(2000) });
    expect(same.manifest.generatedAt).not.toBe(first.manifest.generatedAt);
    expect(await parts(same)).toEqual(firstParts);
    expect(same.manifest.parts).toEqual(first.manifest.parts);

    const changed = await readManifest(copy);
    changed.kernels[archive.keys.arm64]!.updatedAt = "2026-12-01T00:00:00.000Z";
    await writeManifest(copy, changed);
    const next = await publishSite({ archive: copy, out: at, full: true, now: new Date(3000) });
    const nextParts = await parts(next);
    const differ = [...nextParts].filter(([path, bytes]) => !bytes.equals(firstParts.get(path)!)).map(([path]) => path);
    expect(differ).toEqual(["manifest/ubuntu/20.04/arm64.json"]);
    expect(next.manifest.parts.filter((part) => part.path !== differ[0])).toEqual(
      first.manifest.parts.filter((part) => part.path !== differ[0]),
    );
  });

  it("serves the `all` set at the root, each set under sets/, the full tarball under full/, and no file for failed or skipped kernels", async () => {
    const source = await readManifest(archive.root);
    const x86 = manifest.kernels.find((kernel) => kernel.key === archive.keys.x86)!;
    expect(x86.files.root?.path).toBe("ubuntu/20.04/x86_64/5.8.0-63-generic.btf");
    expect(x86.files.root?.sha256).toBe(source.kernels[archive.keys.x86]?.minified?.all?.file?.sha256);
    expect(Object.keys(x86.files.sets)).toEqual(["net", "probes"]);
    expect(x86.files.sets.net?.path).toBe("sets/net/ubuntu/20.04/x86_64/5.8.0-63-generic.btf");
    expect(x86.files.full?.sha256).toBe(source.kernels[archive.keys.x86]?.tarball?.sha256);
    expect(x86.coverage.all).toMatchObject({ total: 4, resolved: 4, unresolved: 0 });
    expect(manifest.sets.map((set) => [set.name, set.prefix, set.objects.length])).toEqual([
      ["all", "", 2],
      ["net", "sets/net/", 1],
      ["probes", "sets/probes/", 1],
    ]);
    const failed = manifest.kernels.find((kernel) => kernel.key === archive.keys.failed)!;
    expect(failed).toMatchObject({ status: "failed", kernelHasBtf: false, files: { sets: {} } });
    expect(failed.reason).toMatch(/no vmlinux/);
    const skipped = manifest.kernels.find((kernel) => kernel.key === archive.keys.skipped)!;
    expect(skipped).toMatchObject({ status: "skipped", kernelHasBtf: true, files: { sets: {} } });
    expect(manifest.sources.find((s) => s.id === "ubuntu/22.04/x86_64")).toMatchObject({
      status: "stale",
      insecure: true,
    });
    const withoutFull = await publishSite({ archive: archive.root, out: join(work, "site-lite"), full: false });
    expect(withoutFull.manifest.kernels.some((kernel) => kernel.files.full)).toBe(false);
  });

  it("indexes uname -r to every key that has it", async () => {
    const index = JSON.parse(await readFile(treeFile("index/uname.json"), "utf8")) as UnameIndex;
    expect(index.kernels["5.8.0-63-generic"]).toEqual([
      { key: archive.keys.otherRelease, status: "ok" },
      { key: archive.keys.x86, status: "ok" },
    ]);
    expect(index.kernels["5.4.0-99-generic"]).toEqual([{ key: archive.keys.failed, status: "failed" }]);
  });

  it("packs each set and arch into one reproducible solid .tar.xz, smaller than the files compressed one by one", async () => {
    expect(manifest.bundles.map((bundle) => bundle.path)).toEqual([
      "bundles/all/x86_64.tar.xz",
      "bundles/all/arm64.tar.xz",
      "bundles/net/x86_64.tar.xz",
      "bundles/net/arm64.tar.xz",
      "bundles/probes/x86_64.tar.xz",
      "bundles/probes/arm64.tar.xz",
    ]);
    const bundle = manifest.bundles.find((candidate) => candidate.path === "bundles/all/x86_64.tar.xz")!;
    const members = await tarMembers(treeFile(bundle.path));
    expect([...members.keys()]).toEqual([`${archive.keys.otherRelease}.btf`, `${archive.keys.x86}.btf`]);
    for (const [name, bytes] of members) expect(bytes).toEqual(await readFile(treeFile(name)));
    let perFile = 0;
    for (const name of members.keys())
      perFile += (await execa("xz", ["-9", "-T1", "-c", treeFile(name)], { encoding: "buffer" })).stdout.length;
    console.log(
      `bundle ${bundle.path}: ${bundle.size} bytes for ${bundle.files} files (${bundle.contentSize} unpacked); per-file xz -9: ${perFile} bytes`,
    );
    expect(bundle.size).toBeLessThan(perFile);
    const again = await publishSite({ archive: archive.root, out: join(work, "site-again"), full: true });
    expect(again.manifest.bundles).toEqual(manifest.bundles);
  });

  it("writes _headers with short-lived metadata, immutable hashed assets and no path under two rules", async () => {
    const rules = parseHeaderRules(await readFile(treeFile("_headers"), "utf8"));
    expect(headersFor(rules, "/manifest.json")["Cache-Control"]).toBe("public, max-age=60, must-revalidate");
    expect(headersFor(rules, "/index/uname.json")["Cache-Control"]).toBe("public, max-age=60, must-revalidate");
    expect(headersFor(rules, "/manifest/ubuntu/20.04/x86_64.json")["Cache-Control"]).toBe(
      "public, max-age=60, must-revalidate",
    );
    expect(headersFor(rules, "/ubuntu/20.04/x86_64/5.8.0-63-generic.btf")["Cache-Control"]).toBe(
      "public, max-age=600, must-revalidate",
    );
    const assets = await readdir(treeFile("assets"));
    expect(assets).toEqual([
      expect.stringMatching(/^app\.[0-9a-f]{16}\.js$/),
      expect.stringMatching(/^style\.[0-9a-f]{16}\.css$/),
    ]);
    expect(headersFor(rules, `/assets/${assets[0]}`)["Cache-Control"]).toMatch(/immutable/);
    const html = await readFile(treeFile("index.html"), "utf8");
    for (const asset of assets) expect(html).toContain(`"assets/${asset}"`);
    expect(await readFile(treeFile("404.html"), "utf8")).toMatch(/Not found/);
    // Hosts join the values of every matching rule: a path under two rules gets a broken header.
    for (const path of [
      "/manifest.json",
      "/manifest/ubuntu/20.04/x86_64.json",
      "/",
      "/index.html",
      "/ubuntu/x",
      "/sets/x",
      "/bundles/x",
      "/full/x",
      "/assets/x",
      "/index/uname.json",
    ]) {
      expect(
        rules.filter((rule) =>
          rule.pattern.endsWith("/*") ? path.startsWith(rule.pattern.slice(0, -1)) : path === rule.pattern,
        ).length,
        path,
      ).toBe(1);
    }
  });

  it("signs manifest.json with --key: the published public key verifies it and rejects a tampered copy", async () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const keyFile = join(work, "signing.pem");
    await writeFile(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }));
    const signedOut = join(work, "site-signed");
    await publishSite({ archive: archive.root, out: signedOut, full: false, keyFile });
    const bytes = await readFile(join(signedOut, "manifest.json"));
    const signature = await readFile(join(signedOut, "manifest.json.sig"), "utf8");
    const publicKey = await readFile(join(signedOut, "manifest.pub.pem"), "utf8");
    expect(signature.trim()).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(verifyManifest(bytes, signature, publicKey)).toBe(true);
    const tampered = Buffer.from(
      bytes
        .toString()
        .replace(/"sha256": "[0-9a-f]/, (match) => `${match.slice(0, -1)}${match.endsWith("0") ? "1" : "0"}`),
    );
    expect(tampered.equals(bytes)).toBe(false);
    expect(verifyManifest(tampered, signature, publicKey)).toBe(false);
    const rsaFile = join(work, "rsa.pem");
    await writeFile(
      rsaFile,
      generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }),
    );
    await expect(
      publishSite({ archive: archive.root, out: join(work, "site-rsa"), full: false, keyFile: rsaFile }),
    ).rejects.toThrow(/Ed25519/);
  });

  it("refuses an --out that is a plain folder, and a failed publish leaves the current tree and no partial one", async () => {
    const plain = join(work, "plain");
    await mkdir(plain);
    await expect(publishSite({ archive: archive.root, out: plain, full: false })).rejects.toThrow(ConfigError);
    const before = await readFile(treeFile("manifest.json"));
    const x86 = manifest.kernels.find((kernel) => kernel.key === archive.keys.x86)!;
    const stored = (await readManifest(archive.root)).kernels[archive.keys.x86]!.minified!.net!.file!.path;
    const good = await readFile(join(archive.root, stored));
    await writeFile(join(archive.root, stored), Buffer.concat([good, Buffer.from("x")]));
    try {
      await expect(publishSite({ archive: archive.root, out, full: true })).rejects.toThrow(IntegrityError);
    } finally {
      await writeFile(join(archive.root, stored), good);
    }
    expect(await realpath(out)).toBe(await realpath(tree));
    expect(await readFile(treeFile("manifest.json"))).toEqual(before);
    expect(
      createHash("sha256")
        .update(await readFile(treeFile(x86.files.sets.net!.path)))
        .digest("hex"),
    ).toBe(x86.files.sets.net!.sha256);
    expect((await readdir(work)).filter((name) => name.endsWith(".partial"))).toEqual([]);
  });

  it("keeps the previous tree and a concurrent publish's partial one, and drops older trees and abandoned partial ones", async () => {
    const dir = join(work, "site-generations");
    const out = join(dir, "site");
    const first = await publishSite({ archive: archive.root, out, full: false });
    const second = await publishSite({ archive: archive.root, out, full: false });
    const abandoned = join(dir, ".site.gen-0-dead.partial");
    const running = join(dir, ".site.gen-1-live.partial");
    await mkdir(abandoned);
    await mkdir(running);
    await utimes(abandoned, new Date(0), new Date(0));
    const third = await publishSite({ archive: archive.root, out, full: false });
    const left = (await readdir(dir)).sort();
    expect(left).toEqual(
      [
        ".site.gen-1-live.partial",
        ...[second.tree, third.tree].map((tree) => tree.slice(dir.length + 1)).sort(),
        "site",
      ].sort(),
    );
    expect(left).not.toContain(first.tree.slice(dir.length + 1));
  });
});

describe("btfmill publish with no object set registered", () => {
  let work: string;
  let archive: SiteArchive;
  let fullOnly: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-publish-full-"));
    archive = await makeSiteArchive(work);
    // The same archive as `btfmill run` leaves it with no objects in the config: no minified records.
    fullOnly = join(work, "archive-full");
    await cp(archive.root, fullOnly, { recursive: true });
    const manifest = await readManifest(fullOnly);
    for (const entry of Object.values(manifest.kernels)) delete entry.minified;
    await writeManifest(fullOnly, manifest);
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("serves each kernel's full raw BTF at its root path, says so in the manifest, and pull fetches it", async () => {
    const out = join(work, "site-full");
    const { manifest } = await publishSite({ archive: fullOnly, out, full: false });
    const archived = await readManifest(fullOnly);
    expect(manifest.sets).toEqual([{ name: "all", prefix: "", form: "full", fingerprint: "", objects: [] }]);
    expect(manifest.bundles).toEqual([]);
    for (const key of [archive.keys.x86, archive.keys.otherRelease, archive.keys.arm64]) {
      const kernel = manifest.kernels.find((entry) => entry.key === key)!;
      const entry = archived.kernels[key]!;
      expect(kernel.files).toEqual({
        root: { path: `${key}.btf`, sha256: entry.btf!.sha256, size: entry.btf!.size, form: "full" },
        sets: {},
      });
      const { stdout } = await execa("tar", ["-xJOf", join(fullOnly, entry.tarball!.path)], { encoding: "buffer" });
      expect(Buffer.compare(await readFile(join(out, `${key}.btf`)), Buffer.from(stdout)), key).toBe(0);
      await execa("bpftool", ["btf", "dump", "file", join(out, `${key}.btf`)]);
    }
    for (const key of [archive.keys.failed, archive.keys.skipped])
      expect(manifest.kernels.find((entry) => entry.key === key)!.files).toEqual({ sets: {} });

    const pulled = join(work, "pulled-full");
    expect(await pull({ from: out, out: pulled })).toMatchObject({ downloaded: 3 });
    expect(await digestFile(join(pulled, `${archive.keys.x86}.btf`))).toEqual({
      sha256: archived.kernels[archive.keys.x86]!.btf!.sha256,
      size: archived.kernels[archive.keys.x86]!.btf!.size,
    });
  });

  it("marks the root and set files of an archive with objects as minified", async () => {
    const { manifest } = await publishSite({ archive: archive.root, out: join(work, "site-minified"), full: false });
    expect(manifest.sets.map((set) => [set.name, set.form])).toEqual([
      ["all", "minified"],
      ["net", "minified"],
      ["probes", "minified"],
    ]);
    const kernel = manifest.kernels.find((entry) => entry.key === archive.keys.x86)!;
    expect([kernel.files.root!.form, ...Object.values(kernel.files.sets).map((file) => file.form)]).toEqual([
      "minified",
      "minified",
      "minified",
    ]);
  });
});
