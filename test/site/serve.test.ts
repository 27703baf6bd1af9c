// `btfmill serve` over a tree published from the fixture archive: the bytes the manifest vouches
// for, HTTP semantics from `send`, precompressed JSON, traversal refused, and a 404 that says why.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CdnManifest } from "../../site/cdn-manifest.ts";
import { publishSite } from "../../site/publish.ts";
import { readSiteManifest } from "../../site/read-manifest.ts";
import { openSite } from "../../site/site-source.ts";
import { startSiteServer } from "../../site/serve.ts";
import { makeSiteArchive, type SiteArchive } from "../fixtures/site-archive.ts";
import { rawRequest } from "../helpers/raw-http.ts";

describe("btfmill serve", () => {
  let work: string;
  let archive: SiteArchive;
  let out: string;
  let server: Server;
  let url: string;
  let manifest: CdnManifest;
  const kernelPath = "/ubuntu/20.04/x86_64/5.8.0-63-generic.btf";

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-serve-"));
    archive = await makeSiteArchive(work);
    out = join(work, "site");
    ({ manifest } = await publishSite({ archive: archive.root, out, full: true }));
    ({ server, url } = await startSiteServer(out, 0, "127.0.0.1"));
  });
  afterAll(async () => {
    server?.close();
    server?.closeAllConnections();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("serves /ubuntu/20.04/x86_64/5.8.0-63-generic.btf as raw BTF whose bytes and sha256 are the manifest's", async () => {
    const response = await fetch(`${url}${kernelPath}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/octet-stream");
    expect(response.headers.get("cache-control")).toBe("public, max-age=600, must-revalidate");
    const bytes = Buffer.from(await response.arrayBuffer());
    const listed = await readSiteManifest(openSite(url));
    const entry = listed.kernels.find((kernel) => kernel.key === archive.keys.x86);
    expect(entry?.files.root?.path).toBe(kernelPath.slice(1));
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(entry?.files.root?.sha256);
    expect(bytes.length).toBe(entry?.files.root?.size);
    // Raw BTF: the header magic 0xeB9F, not a compressed container.
    expect(bytes.readUInt16LE(0)).toBe(0xeb9f);
  });

  it("answers HEAD with the headers and no body, and gives each kind of file its content type", async () => {
    const head = await rawRequest(url, kernelPath, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers["content-length"])).toBe(
      manifest.kernels.find((k) => k.key === archive.keys.x86)?.files.root?.size,
    );
    expect((await fetch(`${url}/bundles/all/x86_64.tar.xz`)).headers.get("content-type")).toBe("application/x-xz");
    expect((await fetch(`${url}/full/${archive.keys.x86}.btf.tar.xz`)).headers.get("content-type")).toBe(
      "application/x-xz",
    );
    expect((await fetch(`${url}/`)).headers.get("content-type")).toMatch(/^text\/html/);
    expect((await fetch(`${url}/index/uname.json`)).headers.get("content-type")).toBe(
      "application/json; charset=utf-8",
    );
    expect((await rawRequest(url, kernelPath, { method: "POST" })).status).toBe(405);
  });

  it("serves byte ranges, a suffix range, and 416 for a range past the end", async () => {
    const whole = await readFile(join(out, kernelPath));
    const first = await rawRequest(url, kernelPath, { headers: { range: "bytes=0-15" } });
    expect(first.status).toBe(206);
    expect(first.headers["content-range"]).toBe(`bytes 0-15/${whole.length}`);
    expect(first.body).toEqual(whole.subarray(0, 16));
    const tail = await rawRequest(url, kernelPath, { headers: { range: "bytes=-10" } });
    expect(tail.status).toBe(206);
    expect(tail.body).toEqual(whole.subarray(whole.length - 10));
    const past = await rawRequest(url, kernelPath, { headers: { range: `bytes=${whole.length + 5}-` } });
    expect(past.status).toBe(416);
    expect(past.headers["content-range"]).toBe(`bytes */${whole.length}`);
  });

  it("answers 304 to If-None-Match with the current ETag, and 200 to a stale one", async () => {
    const first = await rawRequest(url, kernelPath);
    const etag = first.headers.etag as string;
    expect(etag).toBeTruthy();
    const again = await rawRequest(url, kernelPath, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect((await rawRequest(url, kernelPath, { headers: { "if-none-match": 'W/"0-0"' } })).status).toBe(200);
  });

  it("sends manifest.json and its parts brotli- or gzip-compressed as the client accepts, identical once decoded, cached a minute", async () => {
    for (const path of ["/manifest.json", "/manifest/ubuntu/20.04/x86_64.json"]) {
      const plain = await readFile(join(out, path));
      const br = await rawRequest(url, path, { headers: { "accept-encoding": "gzip, br" } });
      expect(br.headers["content-encoding"], path).toBe("br");
      expect(br.headers["content-type"], path).toBe("application/json; charset=utf-8");
      expect(br.headers["cache-control"], path).toBe("public, max-age=60, must-revalidate");
      expect(br.headers.vary, path).toBe("Accept-Encoding");
      expect(brotliDecompressSync(br.body), path).toEqual(plain);
      const gz = await rawRequest(url, path, { headers: { "accept-encoding": "gzip, br;q=0" } });
      expect(gz.headers["content-encoding"], path).toBe("gzip");
      expect(gunzipSync(gz.body), path).toEqual(plain);
      const identity = await rawRequest(url, path);
      expect(identity.headers["content-encoding"], path).toBeUndefined();
      expect(identity.body, path).toEqual(plain);
      expect(br.body.length, path).toBeLessThan(plain.length / 3);
    }
  });

  it("never serves a file outside the folder: .., encoded .., absolute paths, a symlink out", async () => {
    const tree = await realpath(out);
    const secret = join(work, "secret.txt");
    await writeFile(secret, "root:x:0:0 secret\n");
    await symlink(secret, join(tree, "escape.btf"));
    await symlink("/etc/passwd", join(tree, "ubuntu", "passwd"));
    const attempts = [
      "/../secret.txt",
      "/../../../../etc/passwd",
      "/%2e%2e/secret.txt",
      "/%2E%2E/%2e%2e/%2e%2e/etc/passwd",
      "/ubuntu/..%2f..%2fsecret.txt",
      "/..%5csecret.txt",
      "//etc/passwd",
      "/%2fetc%2fpasswd",
      "/escape.btf",
      "/ubuntu/passwd",
      "/ubuntu/%00.btf",
      "/%ff%fe",
    ];
    for (const path of attempts) {
      const response = await rawRequest(url, path);
      // 403 when the path leads out, 404 when it stays inside and names nothing, 400 when it is malformed.
      const expected = path.startsWith("//") || path.startsWith("/%2f") ? 404 : /%00|%ff/.test(path) ? 400 : 403;
      expect(response.status, path).toBe(expected);
      expect(response.body.toString("latin1"), path).not.toMatch(/root:x:0:0/);
    }
  });

  it("answers an unknown kernel with a JSON 404 naming the key and where that uname -r is published", async () => {
    const unknown = await rawRequest(url, "/ubuntu/20.04/x86_64/9.9.9-1-generic.btf");
    expect(unknown.status).toBe(404);
    expect(unknown.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(JSON.parse(unknown.body.toString())).toMatchObject({
      error: "unknown kernel",
      key: "ubuntu/20.04/x86_64/9.9.9-1-generic",
      hint: expect.stringMatching(/manifest\.json/),
    });
    const elsewhere = JSON.parse((await rawRequest(url, "/debian/12/x86_64/5.8.0-63-generic.btf")).body.toString());
    expect(elsewhere).toMatchObject({
      error: "unknown kernel",
      candidates: [archive.keys.otherRelease, archive.keys.x86],
    });
    const failed = JSON.parse((await rawRequest(url, `/${archive.keys.failed}.btf`)).body.toString());
    expect(failed).toMatchObject({ error: "kernel failed", reason: expect.stringMatching(/no vmlinux/) });
    const hasBtf = JSON.parse((await rawRequest(url, `/sets/net/${archive.keys.skipped}.btf`)).body.toString());
    expect(hasBtf).toMatchObject({
      error: "kernel has BTF",
      set: "net",
      hint: expect.stringMatching(/\/sys\/kernel\/btf\/vmlinux/),
    });
    const page = await rawRequest(url, "/no/such/page");
    expect(page.status).toBe(404);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body.toString()).toMatch(/Not found/);
  });
});
