// End to end, as a user runs it: `btfmill run --distro ubuntu --release 20.04 --arch x86_64`
// against a ddebs-format mirror on 127.0.0.1 built with dpkg-deb, apt-ftparchive and gpg: signed
// stubs beside the real debug images, an HWE and a cloud kernel, xz and zstd payloads, a flavor
// whose kernel ships BTF followed by a newer one, and an unsigned release read as `insecure`.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import type { Manifest } from "../../archive/manifest.ts";
import { readManifest } from "../../archive/state.ts";
import { buildAptMirror, createSigningKey, dbgsymPackage, type AptMirror } from "../fixtures/apt-mirror.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

describe("btfmill run on a ddebs-format mirror", () => {
  let work: string;
  let mirror: AptMirror;
  let bionic: AptMirror;
  let server: StaticServer;
  let archive: string;
  let configPath: string;
  let focal: Awaited<ReturnType<typeof runBtfmill>>;
  let focalRequests: string[];
  let manifest: Manifest;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-ubuntu-e2e-"));
    const withBtf = await makeVmlinux(join(work, "with-btf.o"), { withBtf: true });
    const plain = await makeVmlinux(join(work, "plain.o"));
    await mkdir(join(work, "keys"));
    const key = await createSigningKey(join(work, "keys"), "dbgsym");
    const real = (
      kernel: string,
      version: string,
      vmlinux: string,
      more: Partial<Parameters<typeof dbgsymPackage>[0]> = {},
    ) => dbgsymPackage({ kernel, version, vmlinux, compression: "zstd", ...more });
    const stub = (kernel: string, version: string, source = "linux-signed") =>
      dbgsymPackage({ kernel, version, signed: true, source });
    const root = join(work, "mirror");
    mirror = await buildAptMirror(root, {
      arch: "amd64",
      key,
      origin: "Ubuntu",
      suites: {
        focal: [
          real("5.4.0-26-generic", "5.4.0-26.30", plain, { compression: "xz" }),
          stub("5.4.0-26-generic", "5.4.0-26.30"),
          real("5.4.0-1009-aws", "5.4.0-1009.9", plain, { signed: true, source: "linux-aws" }),
        ],
        "focal-updates": [
          real("5.4.0-42-lowlatency", "5.4.0-42.46", withBtf),
          stub("5.4.0-42-lowlatency", "5.4.0-42.46"),
          real("5.8.0-63-generic", "5.8.0-63.71~20.04.1", plain, { source: "linux-hwe-5.8" }),
          stub("5.8.0-63-generic", "5.8.0-63.71~20.04.1", "linux-signed-hwe-5.8"),
        ],
        "focal-proposed": [real("5.4.0-48-lowlatency", "5.4.0-48.52", withBtf)],
      },
    });
    // The same host, an older release published without signatures.
    bionic = await buildAptMirror(root, {
      arch: "amd64",
      key,
      origin: "Ubuntu",
      unsigned: true,
      suites: {
        bionic: [],
        "bionic-updates": [
          real("5.4.0-84-generic", "5.4.0-84.94~18.04.1", plain, { source: "linux-hwe-5.4" }),
          stub("5.4.0-84-generic", "5.4.0-84.94~18.04.1", "linux-signed-hwe-5.4"),
        ],
        "bionic-proposed": [],
      },
    });
    server = await startStaticServer(root);
    archive = join(work, "archive");
    configPath = join(work, "btfmill.json");
    await writeFile(
      configPath,
      JSON.stringify({
        archive,
        sources: [
          { distro: "ubuntu", release: "20.04", arch: "x86_64", mirror: server.url, keyring: mirror.keyring },
          { distro: "ubuntu", release: "18.04", arch: "x86_64", mirror: server.url, insecure: true },
        ],
      }),
    );
    focal = await runBtfmill([
      "run",
      "--config",
      configPath,
      "--distro",
      "ubuntu",
      "--release",
      "20.04",
      "--arch",
      "x86_64",
    ]);
    focalRequests = server.requests.map((request) => request.path);
    manifest = await readManifest(archive);
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const entry = (kernel: string) => manifest.kernels[`ubuntu/20.04/x86_64/${kernel}`];
  const filename = (name: string) => `/${mirror.packages.find((item) => item.name === name)!.filename}`;

  it("succeeds, and its summary counts the converted and the skipped kernels", () => {
    expect(focal.stderr).toContain("summary: 4 ok, 0 failed, 1 skipped, 0 unchanged");
    expect(focal.exitCode).toBe(0);
  });

  it("fills ubuntu/20.04/x86_64/ with exactly the kernels a user expects, each a verified .btf.tar.xz", async () => {
    expect(
      Object.entries(manifest.kernels)
        .map(([key, e]) => `${key} ${e.status}`)
        .sort(),
    ).toEqual([
      "ubuntu/20.04/x86_64/5.4.0-1009-aws ok",
      "ubuntu/20.04/x86_64/5.4.0-26-generic ok",
      "ubuntu/20.04/x86_64/5.4.0-42-lowlatency ok",
      "ubuntu/20.04/x86_64/5.4.0-48-lowlatency skipped",
      "ubuntu/20.04/x86_64/5.8.0-63-generic ok",
    ]);
    const written = (await execa("find", [archive, "-name", "*.btf.tar.xz", "-printf", "%P\n"])).stdout
      .split("\n")
      .sort();
    expect(written).toEqual([
      "ubuntu/20.04/x86_64/5.4.0-1009-aws.btf.tar.xz",
      "ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz",
      "ubuntu/20.04/x86_64/5.4.0-42-lowlatency.btf.tar.xz",
      "ubuntu/20.04/x86_64/5.8.0-63-generic.btf.tar.xz",
    ]);
    for (const path of written) {
      const e = manifest.kernels[path.replace(/\.btf\.tar\.xz$/, "")]!;
      expect(e.tarball?.path).toBe(path);
      expect(await digestFile(join(archive, path))).toEqual({ sha256: e.tarball!.sha256, size: e.tarball!.size });
      const btf = await execa("tar", ["-xJOf", join(archive, path)], { encoding: "buffer" });
      const file = join(work, `${e.key.kernel}.btf`);
      await writeFile(file, btf.stdout);
      await execa("bpftool", ["btf", "dump", "file", file]);
    }
  });

  it("records where each kernel came from: the unsigned .ddeb, the HWE kernel's -updates suite, the cloud kernel's only package", () => {
    const hwe = mirror.packages.find((item) => item.name === "linux-image-unsigned-5.8.0-63-generic-dbgsym")!;
    expect(entry("5.8.0-63-generic")?.package).toEqual({
      name: hwe.name,
      version: "5.8.0-63.71~20.04.1",
      url: `${server.url}/pool/main/l/linux-hwe-5.8/linux-image-unsigned-5.8.0-63-generic-dbgsym_5.8.0-63.71~20.04.1_amd64.ddeb`,
      sha256: hwe.sha256,
      size: hwe.size,
      origin: "focal-updates",
    });
    expect(entry("5.8.0-63-generic")?.flavor).toBe("generic");
    expect(entry("5.4.0-26-generic")?.package.name).toBe("linux-image-unsigned-5.4.0-26-generic-dbgsym");
    expect(entry("5.4.0-1009-aws")).toMatchObject({
      flavor: "aws",
      package: { name: "linux-image-5.4.0-1009-aws-dbgsym", origin: "focal" },
    });
  });

  it("downloads the four real debug images and nothing else: no stub, and not the kernel after one that ships BTF", () => {
    const downloaded = focalRequests.filter((path) => path.endsWith(".ddeb")).sort();
    expect(downloaded).toEqual(
      [
        "linux-image-unsigned-5.4.0-26-generic-dbgsym",
        "linux-image-5.4.0-1009-aws-dbgsym",
        "linux-image-unsigned-5.4.0-42-lowlatency-dbgsym",
        "linux-image-unsigned-5.8.0-63-generic-dbgsym",
      ]
        .map(filename)
        .sort(),
    );
    expect(focalRequests).not.toContain(filename("linux-image-unsigned-5.4.0-48-lowlatency-dbgsym"));
  });

  it("stops the lowlatency flavor at its first kernel with BTF and leaves the other flavors alone", () => {
    expect(entry("5.4.0-42-lowlatency")).toMatchObject({ status: "ok", kernelHasBtf: true });
    expect(entry("5.4.0-48-lowlatency")).toMatchObject({
      status: "skipped",
      flavor: "lowlatency",
      package: { origin: "focal-proposed" },
    });
    expect(entry("5.4.0-48-lowlatency")?.reason).toContain("5.4.0-42-lowlatency");
    expect(entry("5.4.0-48-lowlatency")?.tarball).toBeUndefined();
    expect(entry("5.4.0-26-generic")).toMatchObject({ status: "ok", kernelHasBtf: false });
    expect(entry("5.8.0-63-generic")).toMatchObject({ status: "ok", kernelHasBtf: false });
  });

  it("records the signed source as verified, and reads only the release asked for", () => {
    expect(manifest.sources["ubuntu/20.04/x86_64"]).toMatchObject({ status: "ok" });
    expect(manifest.sources["ubuntu/20.04/x86_64"]?.insecure).toBeUndefined();
    expect(manifest.sources["ubuntu/18.04/x86_64"]).toBeUndefined();
    expect(focalRequests.some((path) => path.includes("/bionic"))).toBe(false);
  });

  it("files an HWE kernel from bionic-updates under 18.04 and marks the unsigned source insecure", async () => {
    const run = await runBtfmill(["run", "--config", configPath, "--release", "18.04"]);
    expect(run.stderr).toContain("summary: 1 ok, 0 failed, 0 skipped, 0 unchanged");
    expect(run.exitCode).toBe(0);
    const after = await readManifest(archive);
    expect(after.sources["ubuntu/18.04/x86_64"]).toMatchObject({ status: "ok", insecure: true });
    const hwe = bionic.packages.find((item) => item.name === "linux-image-unsigned-5.4.0-84-generic-dbgsym")!;
    expect(after.kernels["ubuntu/18.04/x86_64/5.4.0-84-generic"]).toMatchObject({
      status: "ok",
      flavor: "generic",
      tarball: { path: "ubuntu/18.04/x86_64/5.4.0-84-generic.btf.tar.xz" },
      package: { name: hwe.name, sha256: hwe.sha256, origin: "bionic-updates" },
    });
    expect(Object.keys(after.kernels).filter((key) => key.startsWith("ubuntu/20.04/"))).toHaveLength(5);
  });
});
