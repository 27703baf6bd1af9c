// The rpm reader on packages rpmbuild made, with each payload compressor rpm writes, and the fetch
// stage on them over HTTP: only the vmlinux is written, decoding stops at its end, the rest of the
// package is left to the caller to hash.
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VmlinuxRequest } from "../../../distros/packages/vmlinux-request.ts";
import { extractVmlinuxFromRpm } from "../../../distros/packages/rpm.ts";
import type { KernelPackage } from "../../../distros/types.ts";
import { FormatError, IntegrityError, VmlinuxNotFoundError } from "../../../archive/errors.ts";
import { fetchVmlinux } from "../../../pipeline/stages/fetch.ts";
import { buildYumRepo, kernelDebuginfo, tamperRpm } from "../../fixtures/rpm-repo.ts";
import type { BuiltRpm, RpmPayload } from "../../fixtures/rpm-repo.ts";
import { makeVmlinux } from "../../fixtures/vmlinux.ts";
import { patterned } from "../../fixtures/patterned-bytes.ts";
import { childCommands } from "../../helpers/child-processes.ts";
import { startStaticServer } from "../../helpers/static-server.ts";
import type { StaticServer } from "../../helpers/static-server.ts";

const kernel = "4.18.0-147.el8.x86_64";
const vmlinuxPath = `usr/lib/debug/lib/modules/${kernel}/vmlinux`;
const payloads: RpmPayload[] = ["xz", "zstd", "gzip", "bzip2"];
// bzip2 takes seconds a MiB on the fixture's repetitive filler: its package stays small, and its
// early stop (the same child-process path as xz's) is proved on xz.
const trailing: Record<RpmPayload, number> = {
  xz: 32 * 1024 * 1024,
  zstd: 32 * 1024 * 1024,
  gzip: 32 * 1024 * 1024,
  bzip2: 1024 * 1024,
};

let work: string;
let vmlinux: Buffer;
let server: StaticServer;
const built = {} as Record<RpmPayload | "absent" | "symlink", BuiltRpm>;
let counter = 0;

function request(pkg: BuiltRpm, extra: Partial<VmlinuxRequest> = {}): VmlinuxRequest {
  return {
    vmlinuxPath,
    output: join(work, "out", `vmlinux-${counter++}`),
    package: pkg.path,
    packageSize: pkg.size,
    ...extra,
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-rpm-"));
  await mkdir(join(work, "out"));
  const vmlinuxFile = await makeVmlinux(join(work, "vmlinux.o"));
  vmlinux = await readFile(vmlinuxFile);
  const specs = payloads.map((payload) =>
    kernelDebuginfo({
      name: `kernel-${payload}-debuginfo`,
      version: "4.18.0",
      release: "147.el8",
      vmlinux: vmlinuxFile,
      payload,
      trailingBytes: trailing[payload],
    }),
  );
  const absent = kernelDebuginfo({
    name: "kernel-absent-debuginfo",
    version: "4.18.0",
    release: "147.el8",
    trailingBytes: 0,
  });
  // Random bytes after the vmlinux do not compress: the package is large enough to stop early in.
  specs[0]!.files.push({ path: "usr/share/zz-random", contents: randomBytes(4 * 1024 * 1024) });
  const symlinked = kernelDebuginfo({
    name: "kernel-symlink-debuginfo",
    version: "4.18.0",
    release: "147.el8",
    trailingBytes: 0,
  });
  symlinked.files.push({ path: vmlinuxPath, linkTo: "../../../.build-id/5a/filler.debug" });
  const repo = await buildYumRepo(join(work, "repo"), [...specs, absent, symlinked]);
  for (const [index, payload] of payloads.entries()) built[payload] = repo.packages[index]!;
  built.absent = repo.packages[payloads.length]!;
  built.symlink = repo.packages[payloads.length + 1]!;
  server = await startStaticServer(join(work, "repo"));
});

afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("extractVmlinuxFromRpm", () => {
  it.each(payloads)("writes the vmlinux of a %s payload and stops decoding at its end", async (payload) => {
    const wanted = request(built[payload]);
    const result = await extractVmlinuxFromRpm(createReadStream(built[payload].path), wanted);
    expect((await readFile(wanted.output)).equals(vmlinux)).toBe(true);
    expect(result.vmlinuxBytes).toBe(vmlinux.length);
    // 768 KiB of debug files and the vmlinux come first, 32 MiB of filler after: the decoder
    // produced the first part and a few buffers, not the rest.
    if (payload !== "bzip2") expect(result.payloadBytes).toBeLessThan(8 * 1024 * 1024);
    expect((await childCommands()).filter((command) => command === "xz" || command === "bzip2")).toEqual([]);
  });

  it("writes a selected module's .ko.debug, which sits before the vmlinux in the RH layout, under its lsmod name", async () => {
    const dir = await mkdtemp(join(work, "modules-"));
    const wanted = request(built.xz, { modules: { kernel, select: ["ext4", "xfs"], dir } });
    const result = await extractVmlinuxFromRpm(createReadStream(built.xz.path), wanted);
    expect((await readFile(wanted.output)).equals(vmlinux)).toBe(true);
    expect(result.modules).toEqual([{ name: "ext4", path: join(dir, "ext4.ko"), bytes: 512 * 1024 }]);
    expect(result.missingModules).toEqual(["xfs"]);
    expect((await readFile(join(dir, "ext4.ko"))).equals(patterned(512 * 1024, 2))).toBe(true);
  });

  it("leaves the rest of the package unread for the caller", async () => {
    const pkg = built.xz;
    let pulled = 0;
    const source = (async function* () {
      for await (const chunk of createReadStream(pkg.path, { highWaterMark: 16 * 1024 })) {
        pulled += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    })();
    await extractVmlinuxFromRpm(source, request(pkg));
    expect(pkg.size).toBeGreaterThan(4 * 1024 * 1024);
    expect(pulled).toBeLessThan(pkg.size / 2);
    let next = await source.next();
    while (!next.done) next = await source.next();
    expect(pulled).toBe(pkg.size);
  });

  it("throws VmlinuxNotFoundError for a package without the vmlinux", async () => {
    const wanted = request(built.absent);
    const error = await extractVmlinuxFromRpm(createReadStream(built.absent.path), wanted).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(VmlinuxNotFoundError);
    expect((error as Error).message).toBe(`${vmlinuxPath} is not in the rpm's payload`);
    await expect(stat(wanted.output)).rejects.toThrow(/ENOENT/);
  });

  it("refuses a symbolic link where the vmlinux should be", async () => {
    await expect(extractVmlinuxFromRpm(createReadStream(built.symlink.path), request(built.symlink))).rejects.toThrow(
      `${vmlinuxPath} in the rpm payload is a symbolic link, not a regular file`,
    );
  });

  it("refuses what is not an rpm, and an rpm cut inside its header", async () => {
    await expect(extractVmlinuxFromRpm(createReadStream(join(work, "vmlinux.o")), request(built.xz))).rejects.toThrow(
      /^not an rpm: it starts with 7f454c46, not the lead magic edabeedb$/,
    );
    const cut = join(work, "cut.rpm");
    await copyFile(built.xz.path, cut);
    await truncate(cut, 300);
    await expect(extractVmlinuxFromRpm(createReadStream(cut), request(built.xz))).rejects.toThrow(
      /^the rpm ends at byte 300, inside its (signature )?header$/,
    );
  });

  it("refuses a header that reaches past the size the index vouches for", async () => {
    await expect(
      extractVmlinuxFromRpm(createReadStream(built.xz.path), request(built.xz, { packageSize: 2000 })),
    ).rejects.toThrow(/^the rpm's signature header ends at byte \d+, past the package's 2000 bytes$/);
  });

  it("reports a corrupt payload as a FormatError", async () => {
    const bytes = await readFile(built.xz.path);
    const payload = bytes.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
    expect(payload).toBeGreaterThan(0);
    for (let index = payload + 100; index < payload + 200; index++) bytes[index] = bytes[index]! ^ 0x5a;
    const corrupt = join(work, "corrupt.rpm");
    await writeFile(corrupt, bytes);
    const error = await extractVmlinuxFromRpm(createReadStream(corrupt), request(built.xz)).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FormatError);
    expect((await childCommands()).filter((command) => command === "xz" || command === "bzip2")).toEqual([]);
  });
});

describe("fetchVmlinux on an rpm", () => {
  const kernelPackage = (pkg: BuiltRpm, extra: Partial<KernelPackage> = {}): KernelPackage => ({
    key: { distro: "centos", release: "8", arch: "x86_64", kernel },
    flavor: "default",
    name: pkg.spec.name,
    version: "4.18.0-147.el8",
    url: `${server.url}/${pkg.href}`,
    sha256: pkg.sha256,
    size: pkg.size,
    format: "rpm",
    vmlinuxPath,
    origin: "debuginfo",
    ...extra,
  });

  it("leaves the verified vmlinux and hashes the whole package", async () => {
    const destination = join(work, "out", "fetched");
    const fetched = await fetchVmlinux(kernelPackage(built.zstd), destination);
    expect(fetched.sha256).toBe(built.zstd.sha256);
    expect(fetched.downloadedBytes).toBe(built.zstd.size);
    expect((await readFile(destination)).equals(vmlinux)).toBe(true);
  });

  it("refuses a package altered after indexing, leaving nothing behind", async () => {
    const copy = { ...built.gzip, path: join(work, "repo", "Packages", "tampered.rpm"), href: "Packages/tampered.rpm" };
    await copyFile(built.gzip.path, copy.path);
    await tamperRpm(copy);
    const destination = join(work, "out", "tampered");
    const error = await fetchVmlinux(kernelPackage(copy), destination).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(/^sha256 of the package is [0-9a-f]{64}, the index says [0-9a-f]{64}$/);
    await expect(stat(destination)).rejects.toThrow(/ENOENT/);
  });

  it("refuses a package cut short on the mirror", async () => {
    const copy = { ...built.xz, path: join(work, "repo", "Packages", "short.rpm"), href: "Packages/short.rpm" };
    await copyFile(built.xz.path, copy.path);
    await truncate(copy.path, Math.floor(copy.size / 2));
    await expect(fetchVmlinux(kernelPackage(copy), join(work, "out", "short"))).rejects.toThrow(IntegrityError);
  });
});
