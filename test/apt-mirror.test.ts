// The mirror fixture other suites build on: its packages are what dpkg and apt would see, and
// its broken variants are broken in exactly the advertised way.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ubuntuStubMaxBytes } from "../distros/ubuntu.ts";
import { buildAptMirror, dbgPackage, dbgsymPackage, tamperPackage, truncatePackage } from "./fixtures/apt-mirror.ts";
import type { AptMirror, BuiltAptPackage, DebCompression } from "./fixtures/apt-mirror.ts";
import { makeVmlinux } from "./fixtures/vmlinux.ts";

describe("buildAptMirror", () => {
  let dir: string;
  let mirror: AptMirror;
  const compressions: DebCompression[] = ["xz", "gzip", "zstd", "none"];
  const kernelOf = (compression: DebCompression) => `6.1.0-${compressions.indexOf(compression) + 1}-amd64`;
  const pkg = (name: string): BuiltAptPackage => mirror.packages.find((item) => item.name === name)!;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-fixture-"));
    const vmlinux = await makeVmlinux(join(dir, "vmlinux"));
    mirror = await buildAptMirror(join(dir, "mirror"), {
      arch: "amd64",
      suites: {
        bookworm: [
          ...compressions.map((compression) => dbgPackage({ kernel: kernelOf(compression), version: "6.1.1-1", vmlinux, compression })),
          dbgPackage({ kernel: "6.1.0-9-amd64", version: "6.1.9-1" }),
        ],
      },
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(compressions)("builds a %s-compressed package holding the vmlinux and its modules-tree link", async (compression) => {
    const built = pkg(`linux-image-${kernelOf(compression)}-dbg`);
    const members = (await execa("ar", ["t", built.path])).stdout.split("\n");
    expect(members).toContain(compression === "none" ? "data.tar" : `data.tar.${{ xz: "xz", gzip: "gz", zstd: "zst" }[compression]}`);
    const listing = (await execa("dpkg-deb", ["-c", built.path])).stdout;
    expect(listing).toMatch(new RegExp(`^-rw-r--r-- root/root .* \\./usr/lib/debug/boot/vmlinux-${kernelOf(compression)}$`, "m"));
    expect(listing).toContain(`./usr/lib/debug/lib/modules/${kernelOf(compression)}/vmlinux -> ../../../boot/vmlinux-${kernelOf(compression)}`);
  });

  it("indexes each package with the size and sha256 of the file on disk", async () => {
    const packages = (await readFile(join(mirror.root, "dists/bookworm/main/binary-amd64/Packages"), "utf8")).split("\n\n");
    for (const built of mirror.packages) {
      const bytes = await readFile(built.path);
      expect([built.size, built.sha256]).toEqual([bytes.length, createHash("sha256").update(bytes).digest("hex")]);
      const stanza = packages.find((text) => text.startsWith(`Package: ${built.name}\n`));
      expect(stanza).toContain(`Filename: ${built.filename}\n`);
      expect(stanza).toContain(`SHA256: ${built.sha256}`);
    }
  });

  it("builds a package without a vmlinux when none is given", async () => {
    const listing = (await execa("dpkg-deb", ["-c", pkg("linux-image-6.1.0-9-amd64-dbg").path])).stdout;
    expect(listing).not.toContain("vmlinux");
    expect(listing).toContain("README");
  });

  it("tampers a package keeping its size, and truncates one", async () => {
    const tampered = await tamperPackage(mirror, "linux-image-6.1.0-1-amd64-dbg");
    const bytes = await readFile(tampered.path);
    expect(bytes.length).toBe(tampered.size);
    expect(createHash("sha256").update(bytes).digest("hex")).not.toBe(tampered.sha256);
    const truncated = await truncatePackage(mirror, "linux-image-6.1.0-2-amd64-dbg", 100);
    expect((await stat(truncated.path)).size).toBe(100);
  });
});

describe("buildAptMirror for Ubuntu's debug-symbol archive", () => {
  let dir: string;
  let mirror: AptMirror;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-fixture-ddebs-"));
    const vmlinux = await makeVmlinux(join(dir, "vmlinux"));
    mirror = await buildAptMirror(join(dir, "mirror"), {
      arch: "amd64",
      origin: "Ubuntu",
      unsigned: true,
      suites: {
        focal: [
          dbgsymPackage({ kernel: "5.4.0-26-generic", version: "5.4.0-26.30", vmlinux, compression: "zstd" }),
          dbgsymPackage({ kernel: "5.4.0-26-generic", version: "5.4.0-26.30", signed: true }),
        ],
      },
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("builds the unsigned debug image as a .ddeb past the stub limit, its padding after the vmlinux", async () => {
    const built = mirror.packages.find((item) => item.name === "linux-image-unsigned-5.4.0-26-generic-dbgsym")!;
    expect(built.filename).toBe("pool/main/l/linux/linux-image-unsigned-5.4.0-26-generic-dbgsym_5.4.0-26.30_amd64.ddeb");
    expect(built.size).toBeGreaterThan(ubuntuStubMaxBytes);
    const files = (await execa("dpkg-deb", ["--fsys-tarfile", built.path]).pipe("tar", ["-t"])).stdout.split("\n");
    const vmlinux = files.indexOf("./usr/lib/debug/boot/vmlinux-5.4.0-26-generic");
    expect(vmlinux).toBeGreaterThan(-1);
    expect(files.indexOf("./usr/lib/debug/lib/modules/5.4.0-26-generic/kernel/padding.ko")).toBeGreaterThan(vmlinux);
  });

  it("builds the signed twin as a stub in linux-signed, and publishes an unsigned mirror's Release alone", async () => {
    const stub = mirror.packages.find((item) => item.name === "linux-image-5.4.0-26-generic-dbgsym")!;
    expect(stub.filename).toBe("pool/main/l/linux-signed/linux-image-5.4.0-26-generic-dbgsym_5.4.0-26.30_amd64.ddeb");
    expect(stub.size).toBeLessThan(ubuntuStubMaxBytes);
    const release = await readFile(join(mirror.root, "dists/focal/Release"), "utf8");
    expect(release).toMatch(/^Origin: Ubuntu$/m);
    await expect(stat(join(mirror.root, "dists/focal/InRelease"))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(mirror.root, "dists/focal/Release.gpg"))).rejects.toThrow(/ENOENT/);
  });
});
