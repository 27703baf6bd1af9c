import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emptyManifest, type ManifestEntry } from "../../archive/manifest.ts";
import {
  openArchiveState,
  partPath,
  readManifest,
  stateStore,
  writeManifest,
  type StateRoot,
} from "../../archive/state.ts";
import { digestFile } from "../../archive/file-digest.ts";
import { FormatError, IntegrityError } from "../../archive/errors.ts";
import { planRun } from "../../pipeline/plan.ts";
import { localArchiveFiles } from "../../site/state/archive-files.ts";
import type { KernelPackage } from "../../distros/types.ts";

function pkg(kernel: string, sha: string): KernelPackage {
  return {
    key: { distro: "debian", release: "12", arch: "x86_64", kernel },
    flavor: "cloud-amd64",
    name: `linux-image-${kernel}-dbg`,
    version: "6.1.1-1",
    url: `http://127.0.0.1/pool/${kernel}.deb`,
    sha256: sha.repeat(64),
    size: 10,
    format: "deb",
    vmlinuxPath: `usr/lib/debug/boot/vmlinux-${kernel}`,
    origin: "bookworm",
  };
}

function entryFor(p: KernelPackage, status: "ok" | "failed", extra: Partial<ManifestEntry> = {}): ManifestEntry {
  return {
    key: p.key,
    flavor: p.flavor,
    status,
    package: { name: p.name, version: p.version, url: p.url, sha256: p.sha256, size: p.size, origin: p.origin },
    updatedAt: new Date(0).toISOString(),
    ...extra,
  };
}

const ubuntu = (kernel: string, sha: string): KernelPackage => ({
  ...pkg(kernel, sha),
  key: { distro: "ubuntu", release: "22.04", arch: "x86_64", kernel },
});

async function listTree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe("archive state", () => {
  it("a new archive reads as empty; a written one is a root and one part per source, keys sorted, no temp file left", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-manifest-"));
    expect(await readManifest(dir)).toEqual(emptyManifest());
    const manifest = emptyManifest();
    const b = pkg("6.1.0-2-cloud-amd64", "b");
    const a = pkg("6.1.0-1-cloud-amd64", "a");
    const u = ubuntu("5.15.0-1-generic", "c");
    manifest.kernels["debian/12/x86_64/6.1.0-2-cloud-amd64"] = entryFor(b, "failed", { reason: "x", transient: false });
    manifest.kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"] = entryFor(a, "failed", { reason: "y", transient: true });
    manifest.kernels["ubuntu/22.04/x86_64/5.15.0-1-generic"] = entryFor(u, "failed", { reason: "z" });
    manifest.sources["ubuntu/22.04/x86_64"] = { status: "ok", checkedAt: new Date(0).toISOString() };
    await writeManifest(dir, manifest);
    const root = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as StateRoot;
    expect(root.schemaVersion).toBe(2);
    expect(Object.keys(root.sources)).toEqual(["debian/12/x86_64", "ubuntu/22.04/x86_64"]);
    expect(root.sources["ubuntu/22.04/x86_64"]?.state?.status).toBe("ok");
    const debian = root.sources["debian/12/x86_64"]!.part!;
    expect(debian.kernels).toBe(2);
    expect(debian.path).toBe(`state/debian/12/x86_64/${debian.sha256}.json`);
    expect(await digestFile(join(dir, debian.path))).toEqual({ sha256: debian.sha256, size: debian.size });
    const text = await readFile(join(dir, debian.path), "utf8");
    expect(text.indexOf("6.1.0-1-cloud-amd64")).toBeLessThan(text.indexOf("6.1.0-2-cloud-amd64"));
    // A part is one line of JSON, not indented; the root is indented for people.
    expect(text.split("\n")).toEqual([
      expect.stringMatching(/^\{"schemaVersion":2,"source":"debian\/12\/x86_64",/),
      "",
    ]);
    expect(await readFile(join(dir, "manifest.json"), "utf8")).toContain('\n  "schemaVersion": 2,');
    expect(await readManifest(dir)).toEqual(manifest);
    expect(await listTree(dir)).toEqual([
      "manifest.json",
      debian.path,
      root.sources["ubuntu/22.04/x86_64"]!.part!.path,
    ]);
  });

  it("loads only the parts asked for, and a commit rewrites only the changed part, then the root, then drops the old part", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-manifest-"));
    const manifest = emptyManifest();
    const a = pkg("6.1.0-1-cloud-amd64", "a");
    const u = ubuntu("5.15.0-1-generic", "c");
    manifest.kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"] = entryFor(a, "ok");
    manifest.kernels["ubuntu/22.04/x86_64/5.15.0-1-generic"] = entryFor(u, "ok");
    await writeManifest(dir, manifest);
    const before = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as StateRoot;
    const ubuntuPart = before.sources["ubuntu/22.04/x86_64"]!.part!;
    const ubuntuWritten = (await stat(join(dir, ubuntuPart.path))).mtimeMs;

    const state = await openArchiveState(dir);
    expect(state.sourceIds()).toEqual(["debian/12/x86_64", "ubuntu/22.04/x86_64"]);
    expect(state.kernelCount("ubuntu/22.04/x86_64")).toBe(1);
    await state.load(["debian/12/x86_64"]);
    expect(Object.keys(state.manifest.kernels)).toEqual(["debian/12/x86_64/6.1.0-1-cloud-amd64"]);
    const b = pkg("6.1.0-2-cloud-amd64", "b");
    state.record("debian/12/x86_64/6.1.0-2-cloud-amd64", entryFor(b, "ok"));
    expect(state.release("debian/12/x86_64")).toBe(false);
    await state.commit();
    expect(state.release("debian/12/x86_64")).toBe(true);
    expect(state.manifest.kernels).toEqual({});

    const after = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as StateRoot;
    expect(after.sources["ubuntu/22.04/x86_64"]!.part).toEqual(ubuntuPart);
    expect((await stat(join(dir, ubuntuPart.path))).mtimeMs).toBe(ubuntuWritten);
    const debian = after.sources["debian/12/x86_64"]!.part!;
    expect(debian.kernels).toBe(2);
    expect(await listTree(dir)).toEqual(["manifest.json", debian.path, ubuntuPart.path].sort());
    expect(Object.keys((await readManifest(dir)).kernels)).toHaveLength(3);
  });

  it("migrates a schema v1 archive (one manifest.json) at its first commit, every source's part written", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-manifest-"));
    const a = pkg("6.1.0-1-cloud-amd64", "a");
    const u = ubuntu("5.15.0-1-generic", "c");
    const v1 = {
      schemaVersion: 1,
      generator: "btfmill",
      updatedAt: "2026-01-01T00:00:00.000Z",
      sources: { "debian/12/x86_64": { status: "ok", checkedAt: "2026-01-01T00:00:00.000Z" } },
      kernels: {
        "debian/12/x86_64/6.1.0-1-cloud-amd64": entryFor(a, "ok"),
        "ubuntu/22.04/x86_64/5.15.0-1-generic": entryFor(u, "failed", { reason: "r" }),
      },
    };
    await writeFile(join(dir, "manifest.json"), JSON.stringify(v1));
    const { schemaVersion: _, ...whole } = v1;
    expect(await readManifest(dir)).toEqual(whole);
    // A command that commits after loading one source still writes every part of the v1 file.
    const state = await openArchiveState(dir);
    await state.load(["debian/12/x86_64"]);
    await state.commit();
    const root = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as StateRoot;
    expect(root.schemaVersion).toBe(2);
    expect(Object.values(root.sources).map((source) => source.part?.kernels)).toEqual([1, 1]);
    expect(await readManifest(dir)).toEqual(whole);
  });

  it("with a seed (a published state), loads and fetches only the parts asked for; the folder's own entries win", async () => {
    const site = await mkdtemp(join(tmpdir(), "btfmill-seed-"));
    const dir = await mkdtemp(join(tmpdir(), "btfmill-manifest-"));
    const published = emptyManifest();
    const a = pkg("6.1.0-1-cloud-amd64", "a");
    const b = pkg("6.1.0-2-cloud-amd64", "b");
    const u = ubuntu("5.15.0-1-generic", "c");
    published.kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"] = entryFor(a, "ok");
    published.kernels["debian/12/x86_64/6.1.0-2-cloud-amd64"] = entryFor(b, "ok");
    published.kernels["ubuntu/22.04/x86_64/5.15.0-1-generic"] = entryFor(u, "ok");
    await writeManifest(site, published, { rootName: "archive-manifest.json" });
    const own = emptyManifest();
    own.kernels["debian/12/x86_64/6.1.0-2-cloud-amd64"] = entryFor(b, "failed", { reason: "mine" });
    await writeManifest(dir, own);

    const fetched: string[] = [];
    const seed = stateStore(await readFile(join(site, "archive-manifest.json"), "utf8"), site, "", (path) => {
      fetched.push(path);
      return readFile(join(site, path));
    });
    const state = await openArchiveState(dir, { seed });
    expect(state.sourceIds()).toEqual(["debian/12/x86_64", "ubuntu/22.04/x86_64"]);
    await state.load(["debian/12/x86_64"]);
    expect(fetched).toEqual([seed.sources.get("debian/12/x86_64")!.part!.path]);
    expect(state.manifest.kernels["debian/12/x86_64/6.1.0-2-cloud-amd64"]?.reason).toBe("mine");
    expect(state.manifest.kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"]?.status).toBe("ok");
    // The seeded entries are the folder's own after the commit; the source not loaded stays on the site.
    await state.commit();
    const local = await readManifest(dir);
    expect(Object.keys(local.kernels)).toEqual([
      "debian/12/x86_64/6.1.0-1-cloud-amd64",
      "debian/12/x86_64/6.1.0-2-cloud-amd64",
    ]);
  });

  it("refuses a root that is not JSON or not of the schema, a part that is not the one the root names, or a path outside state/", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-manifest-"));
    await writeFile(join(dir, "manifest.json"), "{");
    await expect(readManifest(dir)).rejects.toThrow(FormatError);
    await writeFile(join(dir, "manifest.json"), JSON.stringify({ ...emptyManifest(), schemaVersion: 7 }));
    await expect(readManifest(dir)).rejects.toThrow(/schemaVersion/);
    const manifest = emptyManifest();
    manifest.kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"] = entryFor(pkg("6.1.0-1-cloud-amd64", "a"), "ok");
    await writeManifest(dir, manifest);
    const root = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as StateRoot;
    const part = root.sources["debian/12/x86_64"]!.part!;
    await writeFile(join(dir, part.path), (await readFile(join(dir, part.path), "utf8")).replace('"ok"', '"failed"'));
    await expect(readManifest(dir)).rejects.toThrow(IntegrityError);
    const escaping = { ...root, sources: { "../../etc": { part: { ...part, path: "state/../../etc.json" } } } };
    await writeFile(join(dir, "manifest.json"), JSON.stringify(escaping));
    await expect(readManifest(dir)).rejects.toThrow(/in a form btfmill does not write/);
  });

  it("refuses an own part whose bytes match its root but whose entries are not objects, naming the part and the field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-manifest-"));
    const manifest = emptyManifest();
    manifest.kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"] = entryFor(pkg("6.1.0-1-cloud-amd64", "a"), "ok");
    await writeManifest(dir, manifest);
    const root = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as StateRoot;
    const source = "debian/12/x86_64";
    // A part the root vouches for by sha256 and size, as a writer of another schema would leave it.
    const namePart = async (kernels: unknown) => {
      const text = JSON.stringify({ schemaVersion: 2, source, kernels });
      const sha256 = createHash("sha256").update(text).digest("hex");
      const part = { path: partPath(source, sha256), sha256, size: Buffer.byteLength(text), kernels: 1 };
      await writeFile(join(dir, part.path), text);
      await writeFile(join(dir, "manifest.json"), JSON.stringify({ ...root, sources: { [source]: { part } } }));
    };
    for (const kernels of [["6.1.0-1-cloud-amd64"], { "debian/12/x86_64/6.1.0-1-cloud-amd64": "ok" }, null]) {
      await namePart(kernels);
      const error = await readManifest(dir).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FormatError);
      expect((error as Error).message).toMatch(
        /^.*state\/debian\/12\/x86_64\/[0-9a-f]{64}\.json of .*manifest\.json does not follow manifest schema v2: kernels: expected an object of kernel entries$/,
      );
    }
    await namePart({ "debian/12/x86_64/6.1.0-1-cloud-amd64": { status: "ok" } });
    expect(Object.keys((await readManifest(dir)).kernels)).toEqual(["debian/12/x86_64/6.1.0-1-cloud-amd64"]);
  });
});

describe("plan", () => {
  it("leaves done kernels alone and picks new, changed, missing-file and transiently failed ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-plan-"));
    const manifest = emptyManifest();
    const done = pkg("6.1.0-1-cloud-amd64", "1");
    const vanished = pkg("6.1.0-2-cloud-amd64", "2");
    const changed = pkg("6.1.0-3-cloud-amd64", "3");
    const brokenForGood = pkg("6.1.0-4-cloud-amd64", "4");
    const networkFailure = pkg("6.1.0-5-cloud-amd64", "5");
    const fresh = pkg("6.1.0-6-cloud-amd64", "6");
    const digest = { sha256: "0".repeat(64), size: 1 };
    await mkdir(join(dir, "debian/12/x86_64"), { recursive: true });
    await writeFile(join(dir, "debian/12/x86_64/6.1.0-1-cloud-amd64.btf.tar.xz"), "x");
    manifest.kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"] = entryFor(done, "ok", {
      tarball: { path: "debian/12/x86_64/6.1.0-1-cloud-amd64.btf.tar.xz", ...digest },
    });
    manifest.kernels["debian/12/x86_64/6.1.0-2-cloud-amd64"] = entryFor(vanished, "ok", {
      tarball: { path: "debian/12/x86_64/6.1.0-2-cloud-amd64.btf.tar.xz", ...digest },
    });
    manifest.kernels["debian/12/x86_64/6.1.0-3-cloud-amd64"] = entryFor(pkg("6.1.0-3-cloud-amd64", "9"), "ok");
    manifest.kernels["debian/12/x86_64/6.1.0-4-cloud-amd64"] = entryFor(brokenForGood, "failed", {
      reason: "no vmlinux",
      transient: false,
    });
    manifest.kernels["debian/12/x86_64/6.1.0-5-cloud-amd64"] = entryFor(networkFailure, "failed", {
      reason: "reset",
      transient: true,
    });
    const packages = [done, vanished, changed, brokenForGood, networkFailure, fresh];

    const plan = await planRun(manifest, packages, { files: localArchiveFiles(dir), sets: [], retryFailed: false });
    expect(plan.todo.map((t) => [t.pkg.key.kernel, t.reason])).toEqual([
      ["6.1.0-2-cloud-amd64", "missing-file"],
      ["6.1.0-3-cloud-amd64", "changed-package"],
      ["6.1.0-5-cloud-amd64", "retry-transient"],
      ["6.1.0-6-cloud-amd64", "new"],
    ]);
    expect(plan.unchanged.map((p) => p.key.kernel)).toEqual(["6.1.0-1-cloud-amd64", "6.1.0-4-cloud-amd64"]);

    const retrying = await planRun(manifest, packages, { files: localArchiveFiles(dir), sets: [], retryFailed: true });
    expect(retrying.todo.map((t) => t.reason)).toContain("retry-failed");
  });
});
