// Bad input end to end: a Debian mirror whose kernels were converted once is replaced by packages
// that are broken in every way the pipeline must survive (payloads cut short or corrupt in each
// compression, hostile tar paths, a symlink for the vmlinux, a decompression bomb), then by tools
// that crash or hang, a full disk, and a server that sends less than the length it announces. Each ends as a clear
// error naming its class and cause, and every kernel published before stays `ok` with its files.
import { access, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile, chmod } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createZstdCompress } from "node:zlib";
import { execa } from "execa";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import type { Manifest } from "../../archive/manifest.ts";
import { readManifest } from "../../archive/state.ts";
import {
  buildAptMirror,
  createSigningKey,
  dbgPackage,
  resignSuite,
  suiteDir,
  type AptMirror,
  type AptPackageSpec,
  type SigningKey,
} from "../fixtures/apt-mirror.ts";
import { buildKernelDeb, rewritePayload, type DebCompression } from "../fixtures/kernel-deb.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";

const cli = new URL("../../bin/btfmill.js", import.meta.url).pathname;
const vmlinuxPath = (kernel: string) => `usr/lib/debug/boot/vmlinux-${kernel}`;
const key = (kernel: string) => `debian/12/x86_64/${kernel}`;
// Only the package of this kernel is served cut short: the right Content-Length, half the bytes.
const lyingKernel = "6.1.0-92-cloud-amd64";

interface Member {
  name: string;
  /** The bytes, or that many zero bytes streamed (a bomb's payload never sits in memory). */
  body: Buffer | number;
  type?: "file" | "symlink";
  linkname?: string;
}

/** A data.tar built member by member, compressed with xz or zstd: what dpkg-deb cannot be made to write. */
async function craftedPayload(members: Member[], compression: "xz" | "zstd"): Promise<Buffer> {
  const pack = tar.pack();
  const compressor =
    compression === "zstd"
      ? createZstdCompress()
      : execa("xz", ["-1", "-T1", "-c"], { stdin: "pipe", stdout: "pipe", buffer: false }).duplex();
  const chunks: Buffer[] = [];
  const collected = pipeline(pack, compressor, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) chunks.push(chunk);
  });
  for (const member of members) {
    const size = typeof member.body === "number" ? member.body : member.body.length;
    if (member.type === "symlink") {
      pack.entry({ name: member.name, type: "symlink", linkname: member.linkname ?? "" });
      continue;
    }
    const entry = pack.entry({ name: member.name, size, mode: 0o644 });
    const zeros = Buffer.alloc(1024 * 1024);
    const body =
      typeof member.body === "number"
        ? Readable.from(
            (function* () {
              for (let left = size; left > 0; left -= zeros.length)
                yield left >= zeros.length ? zeros : zeros.subarray(0, left);
            })(),
          )
        : Readable.from([member.body]);
    await pipeline(body, entry);
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

function flipBytes(data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data);
  const start = Math.floor(copy.length * at);
  for (let index = start; index < Math.min(start + 64, copy.length); index++) copy[index] = copy[index]! ^ 0x5a;
  return copy;
}

/** Lines `FAILED <key>: <reason>` the plain reporter prints, by kernel key. */
function failures(stderr: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of stderr.matchAll(/^FAILED (\S+): (.*)$/gm)) found.set(match[1]!, match[2]!);
  return found;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function fileProblems(archive: string, manifest: Manifest): Promise<string[]> {
  const problems: string[] = [];
  for (const [kernel, entry] of Object.entries(manifest.kernels)) {
    if (entry.tarball === undefined) continue;
    const actual = await digestFile(join(archive, entry.tarball.path)).catch(() => undefined);
    if (actual?.sha256 !== entry.tarball.sha256)
      problems.push(`${kernel}: ${entry.tarball.path} is ${JSON.stringify(actual)}`);
  }
  return problems;
}

describe("bad input end to end: clear errors, nothing published lost", () => {
  let work: string;
  let signingKey: SigningKey;
  let server: Server;
  let url: string;
  let good: Manifest;
  const goodArchive = () => join(work, "archive-good");

  const run = (args: string[], env: Record<string, string> = {}) =>
    execa(process.execPath, [cli, ...args], { reject: false, env: { CI: "true", ...env }, timeout: 90_000 });

  const writeConfig = async (name: string, archive: string, mirror: string, extra: Record<string, unknown> = {}) => {
    const path = join(work, `${name}.json`);
    const keyring = signingKey.keyring;
    await writeFile(
      path,
      JSON.stringify({
        archive,
        jobs: 2,
        sources: [
          {
            distro: "debian",
            release: "12",
            arch: "x86_64",
            mirror: `${url}/${mirror}`,
            keyring,
            kernelsWithBtf: "all",
          },
        ],
        ...extra,
      }),
    );
    return path;
  };

  /** Builds mirror `name`; each crafted .deb is put in the pool first, so the index vouches for it as it is. */
  const mirror = async (
    name: string,
    specs: AptPackageSpec[],
    crafted: Record<string, string> = {},
    basePool?: string,
  ) => {
    const root = join(work, "mirrors", name);
    if (basePool !== undefined) await cp(basePool, join(root, "pool"), { recursive: true });
    for (const [kernel, deb] of Object.entries(crafted)) {
      const target = join(root, "pool/main/l/linux", `linux-image-${kernel}-dbg_9.9-1_amd64.deb`);
      await mkdir(join(target, ".."), { recursive: true });
      await cp(deb, target);
    }
    const built = await buildAptMirror(root, {
      arch: "amd64",
      key: signingKey,
      suites: { bookworm: specs, "bookworm-updates": [], "bookworm-security": [] },
    });
    return { root, built };
  };
  let goodMirror: AptMirror;

  // kernel -> what is wrong with its second package, and the reason its failure must give.
  const cases: { kernel: string; what: string; reason: RegExp }[] = [];
  const goodKernels: string[] = [];
  const evil = `btfmill-evil-${process.pid}`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-bad-input-"));
    await mkdir(join(work, "keys"));
    await mkdir(join(work, "debs"));
    signingKey = await createSigningKey(join(work, "keys"));
    server = createServer((request, response) => {
      const path = join(work, "mirrors", decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
      stat(path).then(
        async (info) => {
          if (!info.isFile()) throw new Error("not a file");
          const bytes = await readFile(path);
          if (path.includes(lyingKernel)) {
            response.writeHead(200, { "content-length": bytes.length });
            response.write(bytes.subarray(0, bytes.length >> 1), () => response.destroy());
            return;
          }
          response.writeHead(200, { "content-length": bytes.length });
          response.end(request.method === "HEAD" ? undefined : bytes);
        },
        () => {
          response.writeHead(404);
          response.end();
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const vmlinux = await makeVmlinux(join(work, "vmlinux.o"));
    const vmlinuxBytes = await readFile(vmlinux);
    const built = async (
      name: string,
      compression: DebCompression,
      kernel: string,
      what: "file" | "symlink" = "file",
    ) => buildKernelDeb(join(work, "debs"), name, { compression, kernel, vmlinux: what, trailingBytes: 0 });
    const crafted: Record<string, string> = {};
    const add = async (what: string, reason: RegExp, make: (kernel: string) => Promise<string>) => {
      const kernel = `6.1.0-${cases.length + 1}-cloud-amd64`;
      cases.push({ kernel, what, reason });
      crafted[kernel] = await make(kernel);
    };
    for (const compression of ["xz", "zstd", "gzip"] as const) {
      await add(`${compression} payload cut short`, /^FormatError: /, async (kernel) => {
        const deb = await built(`cut-${compression}`, compression, kernel);
        return (
          await rewritePayload(deb, join(work, "debs", `cut-${compression}.deb`), (data) =>
            data.subarray(0, Math.floor(data.length * 0.6)),
          )
        ).path;
      });
      await add(`corrupt ${compression} payload`, /^FormatError: /, async (kernel) => {
        const deb = await built(`corrupt-${compression}`, compression, kernel);
        return (
          await rewritePayload(deb, join(work, "debs", `corrupt-${compression}.deb`), (data) => flipBytes(data, 0.3))
        ).path;
      });
    }
    await add(
      "a `..` member path",
      /^VmlinuxNotFoundError: usr\/lib\/debug\/boot\/vmlinux-6\.1\.0-7-cloud-amd64 is not in data\.tar\.xz/,
      async (kernel) => {
        const deb = await built("dotdot", "xz", kernel);
        const payload = await craftedPayload(
          [
            {
              name: `./usr/lib/debug/boot/../../../../../../../../../../tmp/${evil}`,
              body: Buffer.from("climbed out\n"),
            },
            { name: `./usr/lib/debug/boot/x/../vmlinux-${kernel}`, body: vmlinuxBytes },
          ],
          "xz",
        );
        return (await rewritePayload(deb, join(work, "debs", "dotdot.deb"), () => payload)).path;
      },
    );
    await add(
      "a symlink where the vmlinux should be",
      /^FormatError: .*vmlinux-6\.1\.0-8-cloud-amd64 in data\.tar\.xz is a symbolic link to \/etc\/passwd, not a regular file/,
      async (kernel) => {
        const deb = await built("symlink", "xz", kernel);
        const payload = await craftedPayload(
          [{ name: `./${vmlinuxPath(kernel)}`, body: 0, type: "symlink", linkname: "/etc/passwd" }],
          "xz",
        );
        return (await rewritePayload(deb, join(work, "debs", "symlink.deb"), () => payload)).path;
      },
    );
    await add(
      "a decompression bomb before the vmlinux",
      /^FormatError: data\.tar\.zst decodes to more than 536870912 bytes, past any real kernel package/,
      async (kernel) => {
        const deb = await built("bomb", "zstd", kernel);
        const payload = await craftedPayload(
          [
            { name: "./usr/lib/debug/.build-id/00/bomb.debug", body: 600 * 1024 * 1024 },
            { name: `./${vmlinuxPath(kernel)}`, body: vmlinuxBytes },
          ],
          "zstd",
        );
        return (await rewritePayload(deb, join(work, "debs", "bomb.deb"), () => payload)).path;
      },
    );
    // An absolute member path names the vmlinux all the same, but is read into scratch space only.
    const absolute = "6.1.0-10-cloud-amd64";
    goodKernels.push(absolute);
    crafted[absolute] = await (async () => {
      const deb = await built("absolute", "xz", absolute);
      const payload = await craftedPayload(
        [
          { name: `/tmp/${evil}-absolute`, body: Buffer.from("absolute\n") },
          { name: `/${vmlinuxPath(absolute)}`, body: vmlinuxBytes },
        ],
        "xz",
      );
      return (await rewritePayload(deb, join(work, "debs", "absolute.deb"), () => payload)).path;
    })();

    const kernels = [...cases.map((item) => item.kernel), absolute];
    const goodSpecs = kernels.map((kernel, index) => dbgPackage({ kernel, version: `6.1.${index + 1}-1`, vmlinux }));
    goodMirror = (await mirror("good", goodSpecs)).built;
    const goodRoot = goodMirror.root;
    await mirror(
      "bad",
      kernels.map((kernel) => dbgPackage({ kernel, version: "9.9-1" })),
      crafted,
    );
    // Beside the good packages, new kernels for the tool, disk and network faults.
    const big = await craftedPayload(
      [{ name: `./${vmlinuxPath("6.1.0-91-cloud-amd64")}`, body: 8 * 1024 * 1024 }],
      "zstd",
    );
    const bigDeb = await rewritePayload(
      await built("big", "zstd", "6.1.0-91-cloud-amd64"),
      join(work, "debs", "big.deb"),
      () => big,
    );
    await mirror(
      "extra",
      [
        ...goodSpecs,
        dbgPackage({ kernel: "6.1.0-90-cloud-amd64", version: "6.1.90-1", vmlinux }),
        dbgPackage({ kernel: "6.1.0-91-cloud-amd64", version: "9.9-1" }),
      ],
      { "6.1.0-91-cloud-amd64": bigDeb.path },
      join(goodRoot, "pool"),
    );
    await mirror(
      "lying",
      [...goodSpecs, dbgPackage({ kernel: lyingKernel, version: "6.1.92-1", vmlinux })],
      {},
      join(goodRoot, "pool"),
    );

    const first = await run(["run", "--config", await writeConfig("good", goodArchive(), "good")]);
    expect(first.exitCode, first.stderr).toBe(0);
    good = await readManifest(goodArchive());
    expect(Object.values(good.kernels).map((entry) => entry.status)).toEqual(kernels.map(() => "ok"));
  }, 240_000);

  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("each broken package fails with its class and cause, and the kernel's earlier files stay published", async () => {
    const archive = join(work, "archive-bad");
    await cp(goodArchive(), archive, { recursive: true });
    const result = await run(["run", "--config", await writeConfig("bad", archive, "bad")]);
    expect(result.exitCode).toBe(1);
    const failed = failures(result.stderr);
    const reasons = Object.fromEntries(
      cases.map((item) => [item.what, failed.get(key(item.kernel)) ?? "(no failure reported)"]),
    );
    for (const item of cases) expect(reasons[item.what], item.what).toMatch(item.reason);
    for (const item of cases) expect(failed.get(key(item.kernel))).toMatch(/\(previous ok entry kept\)$/);
    const after = await readManifest(archive);
    for (const item of cases) expect(after.kernels[key(item.kernel)]).toEqual(good.kernels[key(item.kernel)]);
    expect(after.kernels[key("6.1.0-10-cloud-amd64")]?.status).toBe("ok");
    expect(after.kernels[key("6.1.0-10-cloud-amd64")]?.package.version).toBe("1.0");
    expect(await fileProblems(archive, after)).toEqual([]);
    // No member name decided where bytes land: nothing climbed out, nothing went to its absolute path.
    expect(await exists(join("/tmp", evil))).toBe(false);
    expect(await exists(join("/tmp", `${evil}-absolute`))).toBe(false);
    expect(await exists(`/${vmlinuxPath("6.1.0-10-cloud-amd64")}`)).toBe(false);
    expect(await exists(join(archive, ".work"))).toBe(false);
  });

  it("pahole or bpftool crashing or hanging fails the kernel with a ToolError that says so, within the tool timeout", async () => {
    const archive = join(work, "archive-tools");
    await cp(goodArchive(), archive, { recursive: true });
    // Host tools by name, looked up on PATH, so the misbehaving ones below stand in for them.
    const config = await writeConfig("tools", archive, "extra", {
      toolchain: { pahole: "pahole", bpftool: "bpftool" },
    });
    const bin = join(work, "fake-bin");
    await mkdir(bin, { recursive: true });
    const real = {
      pahole: (await execa("sh", ["-c", "command -v pahole"])).stdout,
      bpftool: (await execa("sh", ["-c", "command -v bpftool"])).stdout,
    };
    const fake = async (tool: "pahole" | "bpftool", behaviour: string) => {
      await rm(join(bin, "pahole"), { force: true });
      await rm(join(bin, "bpftool"), { force: true });
      // The version question at the start of a run gets the real answer; every other call misbehaves.
      const script = `#!/bin/sh\ncase "$1" in --version|version) exec ${real[tool]} "$@";; esac\n${behaviour}\n`;
      await writeFile(join(bin, tool), script);
      await chmod(join(bin, tool), 0o755);
    };
    const env = {
      PATH: `${bin}:${process.env.PATH}`,
      BTFMILL_PAHOLE_TIMEOUT_MS: "1500",
      BTFMILL_BPFTOOL_TIMEOUT_MS: "1500",
    };
    const scenarios: [tool: "pahole" | "bpftool", behaviour: string, reason: RegExp][] = [
      ["pahole", "exit 139", /^ToolError: pahole: exited with 139/],
      ["pahole", "kill -SEGV $$", /^ToolError: pahole: was killed by SIGSEGV/],
      ["pahole", "exec sleep 60", /^ToolError: pahole: timed out after 1500 ms/],
      ["bpftool", "exit 139", /^ToolError: bpftool: exited with 139/],
      ["bpftool", "exec sleep 60", /^ToolError: bpftool: timed out after 1500 ms/],
    ];
    for (const [tool, behaviour, reason] of scenarios) {
      await fake(tool, behaviour);
      const started = Date.now();
      const result = await run(["run", "--config", config, "--retry-failed"], env);
      expect(Date.now() - started, `${tool}: ${behaviour}`).toBeLessThan(30_000);
      expect(result.exitCode, `${tool}: ${behaviour}`).toBe(1);
      const manifest = await readManifest(archive);
      const entry = manifest.kernels[key("6.1.0-90-cloud-amd64")];
      expect(entry?.status, `${tool}: ${behaviour}`).toBe("failed");
      expect(entry?.reason, `${tool}: ${behaviour}`).toMatch(reason);
      expect(entry?.reason).not.toMatch(/install /);
      for (const kernel of Object.keys(good.kernels)) expect(manifest.kernels[kernel]).toEqual(good.kernels[kernel]);
      expect(await fileProblems(archive, manifest)).toEqual([]);
    }
    const healed = await run(["run", "--config", config, "--retry-failed"]);
    expect((await readManifest(archive)).kernels[key("6.1.0-90-cloud-amd64")]?.status, healed.stderr).toBe("ok");
  });

  it("a full disk while extracting fails that kernel as worth retrying, and keeps everything published", async (context) => {
    const archive = join(work, "archive-full");
    await mkdir(archive);
    // 3 MiB holds the archive of small test kernels, not the 8 MiB vmlinux of 6.1.0-91.
    const mounted = await execa("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", archive], { reject: false });
    if (mounted.exitCode !== 0)
      context.skip(`cannot mount a small tmpfs here (${mounted.stderr.trim()}): needs root and mount rights`);
    try {
      await cp(goodArchive(), archive, { recursive: true });
      // One kernel at a time: the kernel that fills the disk must not take a healthy one down with it.
      const result = await run(["run", "--config", await writeConfig("full", archive, "extra"), "--jobs", "1"]);
      expect(result.exitCode).toBe(1);
      const manifest = await readManifest(archive);
      const entry = manifest.kernels[key("6.1.0-91-cloud-amd64")];
      expect(entry?.status).toBe("failed");
      expect(entry?.reason).toMatch(/ENOSPC: no space left on device/);
      expect(entry?.transient).toBe(true);
      expect(manifest.kernels[key("6.1.0-90-cloud-amd64")]?.status).toBe("ok");
      for (const kernel of Object.keys(good.kernels)) expect(manifest.kernels[kernel]).toEqual(good.kernels[kernel]);
      expect(await fileProblems(archive, manifest)).toEqual([]);
      expect(await exists(join(archive, ".work"))).toBe(false);
    } finally {
      await execa("umount", [archive], { reject: false });
    }
  });

  it("a server sending fewer bytes than its Content-Length leaves the kernel failed as transient and the run non-zero", async () => {
    const archive = join(work, "archive-lying");
    await cp(goodArchive(), archive, { recursive: true });
    const result = await run(["run", "--config", await writeConfig("lying", archive, "lying")]);
    expect(result.exitCode).toBe(1);
    const manifest = await readManifest(archive);
    const entry = manifest.kernels[key(lyingKernel)];
    expect(entry?.status).toBe("failed");
    expect(entry?.reason).toMatch(/^FetchError: /);
    expect(entry?.transient).toBe(true);
    for (const kernel of Object.keys(good.kernels)) expect(manifest.kernels[kernel]).toEqual(good.kernels[kernel]);
    expect(await fileProblems(archive, manifest)).toEqual([]);
  });

  it("a signed Packages index that is malformed marks the source stale and keeps its kernels", async () => {
    const root = join(work, "mirrors", "malformed");
    await cp(goodMirror.root, root, { recursive: true });
    const malformed: AptMirror = { ...goodMirror, root };
    const dir = suiteDir(malformed, "bookworm");
    // A stanza without its SHA256, in every form the Release lists, which then vouches for it.
    const text =
      "Package: linux-image-6.1.0-1-cloud-amd64-dbg\nVersion: 6.1.1-1\nArchitecture: amd64\nFilename: pool/main/l/linux/x.deb\nSize: 12\n\n";
    await writeFile(join(dir, "main/binary-amd64/Packages"), text);
    await rm(join(dir, "main/binary-amd64/Packages.xz"));
    await rm(join(dir, "main/binary-amd64/Packages.gz"));
    const fields = {
      Origin: "Debian",
      Label: "Debian",
      Suite: "bookworm",
      Codename: "bookworm",
      Architectures: "amd64",
      Components: "main",
    };
    const settings = Object.entries(fields).flatMap(([field, value]) => [
      "-o",
      `APT::FTPArchive::Release::${field}=${value}`,
    ]);
    await rm(join(dir, "Release"));
    await writeFile(
      join(dir, "Release"),
      `${(await execa("apt-ftparchive", [...settings, "release", "."], { cwd: dir })).stdout.trimEnd()}\n`,
    );
    await resignSuite(malformed, "bookworm", signingKey);
    const archive = join(work, "archive-malformed");
    await cp(goodArchive(), archive, { recursive: true });
    const result = await run(["run", "--config", await writeConfig("malformed", archive, "malformed")]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("stale debian/12/x86_64");
    const manifest = await readManifest(archive);
    expect(manifest.sources["debian/12/x86_64"]?.status).toBe("stale");
    expect(manifest.sources["debian/12/x86_64"]?.reason).toMatch(
      /^FormatError: .*\/Packages: package linux-image-6\.1\.0-1-cloud-amd64-dbg has no sha256 field/,
    );
    expect(manifest.kernels).toEqual(good.kernels);
    expect(await fileProblems(archive, manifest)).toEqual([]);
  });

  it("a manifest that does not parse stops the run before any work, and is left as it was", async () => {
    const archive = join(work, "archive-broken-manifest");
    await cp(goodArchive(), archive, { recursive: true });
    const broken = (await readFile(join(archive, "manifest.json"), "utf8")).slice(0, 200);
    await writeFile(join(archive, "manifest.json"), broken);
    const result = await run(["run", "--config", await writeConfig("broken-manifest", archive, "good")]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/FormatError: .*manifest\.json is not JSON/);
    expect(await readFile(join(archive, "manifest.json"), "utf8")).toBe(broken);
    for (const entry of Object.values(good.kernels))
      expect(await digestFile(join(archive, entry.tarball!.path))).toEqual({
        sha256: entry.tarball!.sha256,
        size: entry.tarball!.size,
      });
  });
});
