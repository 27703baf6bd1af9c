import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emptyManifest, readManifest, writeManifest, type ManifestEntry } from "../../archive/manifest.ts";
import { FormatError } from "../../archive/errors.ts";
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

describe("manifest", () => {
  it("a new archive reads as an empty manifest; a written one reads back with sorted keys and no temp file left", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-manifest-"));
    expect(await readManifest(dir)).toEqual(emptyManifest());
    const manifest = emptyManifest();
    const b = pkg("6.1.0-2-cloud-amd64", "b");
    const a = pkg("6.1.0-1-cloud-amd64", "a");
    manifest.kernels["debian/12/x86_64/6.1.0-2-cloud-amd64"] = entryFor(b, "failed", { reason: "x", transient: false });
    manifest.kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"] = entryFor(a, "failed", { reason: "y", transient: true });
    await writeManifest(dir, manifest);
    const text = await readFile(join(dir, "manifest.json"), "utf8");
    expect(text.indexOf("6.1.0-1-cloud-amd64")).toBeLessThan(text.indexOf("6.1.0-2-cloud-amd64"));
    expect(await readManifest(dir)).toEqual(manifest);
    expect(await readdir(dir)).toEqual(["manifest.json"]);
  });

  it("refuses a manifest that is not JSON or not of the schema, saying where", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-manifest-"));
    await writeFile(join(dir, "manifest.json"), "{");
    await expect(readManifest(dir)).rejects.toThrow(FormatError);
    await writeFile(join(dir, "manifest.json"), JSON.stringify({ ...emptyManifest(), schemaVersion: 7 }));
    await expect(readManifest(dir)).rejects.toThrow(/schemaVersion/);
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
