// A JSON file of the published tree and its precompressed siblings: the same bytes once decoded,
// by the system's own gzip and brotli-compatible decoders, and the digest of the plain file.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync } from "node:zlib";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../archive/file-digest.ts";
import { writeJsonFile } from "../../site/publish-json.ts";

let tree: string;

beforeAll(async () => {
  tree = await mkdtemp(join(tmpdir(), "btfmill-publish-json-"));
});

afterAll(async () => {
  await rm(tree, { recursive: true, force: true });
});

describe("writeJsonFile", () => {
  it("writes the JSON one space indented with a final newline, in folders it makes, and returns its digest", async () => {
    const value = {
      schemaVersion: 1,
      kernels: { "5.8.0-63-generic": [{ key: "ubuntu/20.04/x86_64/5.8.0-63-generic" }] },
    };
    const { bytes, file } = await writeJsonFile(tree, "index/uname.json", value);
    const written = await readFile(join(tree, "index", "uname.json"));
    expect(written.equals(bytes)).toBe(true);
    expect(written.toString()).toBe(`${JSON.stringify(value, null, 1)}\n`);
    expect(file).toEqual({ path: "index/uname.json", sha256: sha256Hex(written), size: written.length });
  });

  it("writes .gz and .br siblings that decode to the same bytes, gzip's checked by gzip itself", async () => {
    const value = { kernels: Array.from({ length: 500 }, (_, i) => ({ key: `debian/12/x86_64/6.1.0-${i}-amd64` })) };
    const { bytes } = await writeJsonFile(tree, "manifest.json", value);
    const gz = await readFile(join(tree, "manifest.json.gz"));
    const br = await readFile(join(tree, "manifest.json.br"));
    const { stdout } = await execa("gzip", ["-dc"], { input: gz, encoding: "buffer", stripFinalNewline: false });
    expect(Buffer.from(stdout).equals(bytes)).toBe(true);
    expect(brotliDecompressSync(br).equals(bytes)).toBe(true);
    expect(gz.length).toBeLessThan(bytes.length / 5);
    expect(br.length).toBeLessThan(gz.length);
  });
});
