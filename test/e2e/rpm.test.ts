// End to end, as a user runs it: `btfmill run --config` against yum repositories on 127.0.0.1
// laid out as CentOS's, Oracle's, Amazon's (behind mirror lists), Fedora's and openSUSE's (signed)
// are, built with rpmbuild, createrepo_c and gpg, with a tampered, a truncated and a vmlinux-less
// package, a kernel line that ships BTF, a malformed primary and a foreign signature.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import type { Manifest } from "../../archive/manifest.ts";
import { readManifest } from "../../archive/state.ts";
import {
  buildYumRepo,
  createSigningKey,
  kernelDebuginfo,
  rewritePrimary,
  tamperRpm,
  truncateRpm,
} from "../fixtures/rpm-repo.ts";
import type { BuiltRpm, KernelDebuginfoOptions, SigningKey, YumRepo } from "../fixtures/rpm-repo.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

const cli = new URL("../../bin/btfmill.js", import.meta.url).pathname;

async function btfmill(args: string[]) {
  return execa(process.execPath, [cli, ...args], { reject: false, env: { CI: "true" } });
}

describe("btfmill run on yum repositories", () => {
  let work: string;
  let root: string;
  let server: StaticServer;
  let archive: string;
  let configPath: string;
  let first: Awaited<ReturnType<typeof btfmill>>;
  let manifest: Manifest;
  const repos: Record<string, YumRepo> = {};

  const repo = async (
    path: string,
    specs: KernelDebuginfoOptions[],
    options: { key?: SigningKey; compression?: "gz" | "xz" | "zst"; packagesDir?: string } = {},
  ) => {
    repos[path] = await buildYumRepo(join(root, path), specs.map(kernelDebuginfo), options);
    return repos[path]!;
  };
  const built = (path: string, release: string): BuiltRpm =>
    repos[path]!.packages.find((pkg) => pkg.spec.release === release)!;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-rpm-e2e-"));
    root = join(work, "mirror");
    const plain = await makeVmlinux(join(work, "plain.o"));
    const withBtf = await makeVmlinux(join(work, "with-btf.o"), { withBtf: true });
    await mkdir(join(work, "keys"));
    await mkdir(join(work, "other-keys"));
    const key = await createSigningKey(join(work, "keys"), "opensuse");
    const otherKey = await createSigningKey(join(work, "other-keys"), "someone else");
    const suse = (version: string, release: string): KernelDebuginfoOptions => {
      const kernel = `${version}-${release.slice(0, release.lastIndexOf("."))}-default`;
      return {
        name: "kernel-default-debuginfo",
        version,
        release,
        vmlinux: plain,
        vmlinuxPath: `usr/lib/debug/boot/vmlinux-${kernel}.debug`,
        payload: "zstd",
      };
    };

    const centos = await repo(
      "centos/8/x86_64",
      [
        { version: "4.18.0", release: "147.el8", vmlinux: plain },
        { version: "4.18.0", release: "193.el8", vmlinux: plain, payload: "zstd" },
        { version: "4.18.0", release: "240.el8", vmlinux: plain },
        { version: "4.18.0", release: "305.el8", vmlinux: plain },
      ],
      { compression: "xz" },
    );
    await tamperRpm(centos.packages[2]!);
    await truncateRpm(centos.packages[3]!);
    await repo("centos/8-stream/x86_64", [{ version: "4.18.0", release: "348.el8", vmlinux: plain }]);
    await repo(
      "oracle/ol7/debuginfo",
      [
        { name: "kernel-uek-debuginfo", version: "4.14.35", release: "2047.502.5.el7uek", vmlinux: plain },
        {
          name: "kernel-uek-debuginfo",
          version: "4.14.35",
          release: "2047.502.5.el7uek",
          arch: "aarch64",
          vmlinux: plain,
        },
        { version: "3.10.0", release: "1160.el7", vmlinux: plain },
        { name: "kernel-debuginfo-common-x86_64", version: "3.10.0", release: "1160.el7" },
      ],
      { packagesDir: "" },
    );
    await repo("amazon/2/core/2.0/x86_64/9f3c", [{ version: "4.14.243", release: "185.433.amzn2", vmlinux: plain }]);
    await repo("amazon/2/extras/kernel-5.10/stable/x86_64/a1", [
      { version: "5.10.50", release: "44.132.amzn2", vmlinux: withBtf },
      { version: "5.10.60", release: "51.144.amzn2", vmlinux: withBtf },
    ]);
    const mirrorList = async (path: string, target: string) => {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), `${server.url}/${target}\n`);
    };
    for (const extra of ["kernel-5.4", "kernel-5.15"]) await repo(`amazon/2/extras/${extra}/stable/x86_64/00`, []);
    await repo(
      "fedora/releases/31/Everything/x86_64/debug/tree",
      [{ version: "5.3.7", release: "301.fc31", vmlinux: plain, payload: "zstd" }],
      { packagesDir: "Packages/k", compression: "zst" },
    );
    await repo(
      "fedora/updates/31/Everything/x86_64/debug",
      [
        { version: "5.8.18", release: "100.fc31", vmlinux: plain, payload: "zstd" },
        { version: "5.8.15", release: "101.fc31", payload: "zstd" },
      ],
      { packagesDir: "Packages/k", compression: "zst" },
    );
    const fedora32 = await repo(
      "fedora/releases/32/Everything/x86_64/debug/tree",
      [{ version: "5.6.6", release: "300.fc32", vmlinux: plain }],
      { compression: "zst" },
    );
    await rewritePrimary(fedora32, { change: (xml) => xml.replace("<arch>", "<arch") });
    await repo("fedora/updates/32/Everything/x86_64/debug", [], { compression: "zst" });
    await repo("opensuse/debug/distribution/leap/15.5/repo/oss", [suse("5.14.21", "150500.53.2")], {
      key,
      compression: "zst",
    });
    await repo("opensuse/debug/update/leap/15.5/oss", [], { key, compression: "zst" });
    await repo("opensuse/debug/update/leap/15.5/sle", [suse("5.14.21", "150500.55.39.1")], { key, compression: "zst" });
    for (const path of ["distribution/leap/15.4/repo/oss", "update/leap/15.4/oss", "update/leap/15.4/sle"]) {
      await repo(`opensuse/debug/${path}`, [], { key: otherKey, compression: "zst" });
    }

    server = await startStaticServer(root);
    await mirrorList("amazon/2/core/latest/debuginfo/x86_64/mirror.list", "amazon/2/core/2.0/$basearch/9f3c");
    await mirrorList(
      "amazon/2/extras/kernel-5.10/latest/debuginfo/x86_64/mirror.list",
      "amazon/2/extras/kernel-5.10/stable/x86_64/a1",
    );
    for (const extra of ["kernel-5.4", "kernel-5.15"]) {
      await mirrorList(
        `amazon/2/extras/${extra}/latest/debuginfo/x86_64/mirror.list`,
        `amazon/2/extras/${extra}/stable/x86_64/00`,
      );
    }
    archive = join(work, "archive");
    configPath = join(work, "btfmill.json");
    const insecure = (distro: string, release: string, path: string) => ({
      distro,
      release,
      arch: "x86_64",
      mirror: `${server.url}/${path}`,
      insecure: true,
    });
    const signed = (release: string) => ({
      distro: "opensuse-leap",
      release,
      arch: "x86_64",
      mirror: `${server.url}/opensuse`,
      keyring: key.keyring,
    });
    await writeFile(
      configPath,
      JSON.stringify({
        archive,
        sources: [
          insecure("centos", "8", "centos"),
          insecure("ol", "7", "oracle"),
          insecure("amzn", "2", "amazon"),
          insecure("fedora", "31", "fedora"),
          insecure("fedora", "32", "fedora"),
          signed("15.5"),
          signed("15.4"),
        ],
      }),
    );
    first = await btfmill(["run", "--config", configPath]);
    manifest = await readManifest(archive);
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const entry = (key: string) => manifest.kernels[key];

  it("exits non-zero with a summary naming each failure and the stale sources", () => {
    expect(first.stderr).toContain("summary: 11 ok, 3 failed, 1 skipped, 0 unchanged, 2 source(s) stale");
    expect(first.stderr).toContain("failed centos/8/x86_64/4.18.0-240.el8.x86_64");
    expect(first.stderr).toContain("stale fedora/32/x86_64");
    expect(first.stderr).toContain("stale opensuse-leap/15.4/x86_64");
    expect(first.exitCode).toBe(1);
  });

  it("files each kernel under its os-release path and uname -r, a verified .btf.tar.xz each", async () => {
    const written = (await execa("find", [archive, "-name", "*.btf.tar.xz", "-printf", "%P\n"])).stdout
      .split("\n")
      .sort();
    expect(written).toEqual([
      "amzn/2/x86_64/4.14.243-185.433.amzn2.x86_64.btf.tar.xz",
      "amzn/2/x86_64/5.10.50-44.132.amzn2.x86_64.btf.tar.xz",
      "centos/8/x86_64/4.18.0-147.el8.x86_64.btf.tar.xz",
      "centos/8/x86_64/4.18.0-193.el8.x86_64.btf.tar.xz",
      "centos/8/x86_64/4.18.0-348.el8.x86_64.btf.tar.xz",
      "fedora/31/x86_64/5.3.7-301.fc31.x86_64.btf.tar.xz",
      "fedora/31/x86_64/5.8.18-100.fc31.x86_64.btf.tar.xz",
      "ol/7/x86_64/3.10.0-1160.el7.x86_64.btf.tar.xz",
      "ol/7/x86_64/4.14.35-2047.502.5.el7uek.x86_64.btf.tar.xz",
      "opensuse-leap/15.5/x86_64/5.14.21-150500.53-default.btf.tar.xz",
      "opensuse-leap/15.5/x86_64/5.14.21-150500.55.39-default.btf.tar.xz",
    ]);
    for (const path of written) {
      const e = entry(path.replace(/\.btf\.tar\.xz$/, ""))!;
      expect(e).toMatchObject({ status: "ok", tarball: { path } });
      expect(await digestFile(join(archive, path))).toEqual({ sha256: e.tarball!.sha256, size: e.tarball!.size });
      const btf = await execa("tar", ["-xJOf", join(archive, path)], { encoding: "buffer" });
      const file = join(work, `${e.key.kernel}.btf`);
      await writeFile(file, btf.stdout);
      await execa("bpftool", ["btf", "dump", "file", file]);
    }
  });

  it("records provenance: the rpm's URL, version, sha256 and repository", () => {
    const uek = repos["oracle/ol7/debuginfo"]!.packages[0]!;
    expect(entry("ol/7/x86_64/4.14.35-2047.502.5.el7uek.x86_64")).toMatchObject({
      key: { distro: "ol", release: "7", arch: "x86_64", kernel: "4.14.35-2047.502.5.el7uek.x86_64" },
      flavor: "uek",
      package: {
        name: "kernel-uek-debuginfo",
        version: "4.14.35-2047.502.5.el7uek",
        url: `${server.url}/oracle/ol7/debuginfo/kernel-uek-debuginfo-4.14.35-2047.502.5.el7uek.x86_64.rpm`,
        sha256: uek.sha256,
        size: uek.size,
        origin: "debuginfo",
      },
    });
    expect(entry("ol/7/x86_64/3.10.0-1160.el7.x86_64")?.flavor).toBe("rhck");
    expect(entry("centos/8/x86_64/4.18.0-348.el8.x86_64")?.package.origin).toBe("8-stream");
    expect(entry("amzn/2/x86_64/5.10.50-44.132.amzn2.x86_64")?.package.origin).toBe("extras/kernel-5.10");
    expect(entry("opensuse-leap/15.5/x86_64/5.14.21-150500.55.39-default")).toMatchObject({
      flavor: "default",
      package: {
        name: "kernel-default-debuginfo",
        version: "5.14.21-150500.55.39.1",
        origin: "update/sle",
        sha256: built("opensuse/debug/update/leap/15.5/sle", "150500.55.39.1").sha256,
      },
    });
  });

  it("gives 4.x kernels none of the kinds pahole switches off for them", () => {
    const e = entry("centos/8/x86_64/4.18.0-147.el8.x86_64")!;
    expect(e.pahole?.flags).toEqual([expect.not.stringMatching(/enum64|type_tag|decl_tag|float/)]);
    for (const kind of ["ENUM64", "TYPE_TAG", "DECL_TAG", "FLOAT"]) expect(e.kinds).not.toContain(kind);
    expect(e.kinds).toContain("STRUCT");
  });

  it("stops Amazon Linux 2's flavor at the first kernel that ships BTF", () => {
    expect(entry("amzn/2/x86_64/4.14.243-185.433.amzn2.x86_64")).toMatchObject({ status: "ok", kernelHasBtf: false });
    expect(entry("amzn/2/x86_64/5.10.50-44.132.amzn2.x86_64")).toMatchObject({ status: "ok", kernelHasBtf: true });
    expect(entry("amzn/2/x86_64/5.10.60-51.144.amzn2.x86_64")).toMatchObject({ status: "skipped" });
  });

  it("records each broken package as failed with the reason, and nothing in the archive for it", () => {
    expect(entry("centos/8/x86_64/4.18.0-240.el8.x86_64")).toMatchObject({ status: "failed", transient: false });
    expect(entry("centos/8/x86_64/4.18.0-240.el8.x86_64")?.reason).toMatch(
      /^IntegrityError: sha256 of the package is [0-9a-f]{64}, the index says/,
    );
    expect(entry("centos/8/x86_64/4.18.0-305.el8.x86_64")?.reason).toMatch(
      /^IntegrityError: the server announces \d+ bytes, the index says \d+/,
    );
    expect(entry("fedora/31/x86_64/5.8.15-101.fc31.x86_64")?.reason).toMatch(
      /^VmlinuxNotFoundError: usr\/lib\/debug\/lib\/modules\/5.8.15-101.fc31.x86_64\/vmlinux is not in the rpm's payload/,
    );
  });

  it("marks sources with a malformed primary or a foreign signature stale, and records unverified sources as insecure", () => {
    expect(manifest.sources["fedora/32/x86_64"]).toMatchObject({ status: "stale", insecure: true });
    expect(manifest.sources["fedora/32/x86_64"]?.reason).toMatch(
      /^FormatError: .*primary\.xml\.zst is not well-formed XML/,
    );
    expect(manifest.sources["opensuse-leap/15.4/x86_64"]).toMatchObject({ status: "stale" });
    expect(manifest.sources["opensuse-leap/15.4/x86_64"]?.reason).toMatch(
      /^IntegrityError: signature of .*repomd\.xml does not verify/,
    );
    expect(manifest.sources["centos/8/x86_64"]).toMatchObject({ status: "ok", insecure: true });
    expect(manifest.sources["opensuse-leap/15.5/x86_64"]?.status).toBe("ok");
    expect(manifest.sources["opensuse-leap/15.5/x86_64"]?.insecure).toBeUndefined();
  });

  it("a second run downloads the indexes only", async () => {
    const before = server.requests.length;
    const second = await btfmill(["run", "--config", configPath, "--distro", "ol"]);
    expect(second.stderr).toContain("summary: 0 ok, 0 failed, 0 skipped, 2 unchanged");
    expect(second.exitCode).toBe(0);
    const paths = server.requests.slice(before).map((request) => request.path);
    expect(paths.filter((path) => path.endsWith(".rpm"))).toEqual([]);
    expect(paths).toContain("/oracle/ol7/debuginfo/repodata/repomd.xml");
  });
});
