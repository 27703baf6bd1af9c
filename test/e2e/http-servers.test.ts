// End to end, as a user runs it: `btfmill run` in its own process, so that a crash shows as an
// exit and an AssertionError instead of taking the test runner down, against one loopback mirror
// (a signed Debian suite read through InRelease and Packages.xz, a signed openSUSE repository
// read through repomd.xml, its .asc and primary; .deb and .rpm debug packages) served the ways
// mirrors, proxies and caches serve it: Python's HTTP/1.0 http.server closing after each body,
// `Connection: close`, chunked bodies without a length, redirects to another origin, bytes
// trickled, connections reset mid-body. Every kernel either converts from the right bytes or
// fails as a FetchError naming its package with a hint. The site published from the run is served
// by Python's server too, and pull and lookup read it as a consumer would.
//
// The .deb packages carry 2 MB of filler before the vmlinux, so btfmill is still decoding,
// and holding the body back, when a server that closes after the body sends its last bytes:
// under undici 7 that crashed the run (AssertionError: assert(!this.paused)).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import { readManifest } from "../../archive/state.ts";
import type { HttpConfig } from "../../pipeline/config.ts";
import type { PullIndex } from "../../site/pull-index.ts";
import { buildAptMirror, createSigningKey, dbgPackage } from "../fixtures/apt-mirror.ts";
import type { AptPackageSpec, SigningKey } from "../fixtures/apt-mirror.ts";
import { buildYumRepo, kernelDebuginfo } from "../fixtures/rpm-repo.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { startBehavingServer } from "../helpers/behaving-server.ts";
import type { Behaviour, BehavingServer } from "../helpers/behaving-server.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { startPythonHttpServer } from "../helpers/python-http-server.ts";
import type { PythonHttpServer } from "../helpers/python-http-server.ts";

let work: string;
let root: string;
let key: SigningKey;
let python: PythonHttpServer;
/** Package file name -> sha256 of the package as built. */
const built = new Map<string, string>();
let runs = 0;

// Eight, because each one is a chance for the crash described above: under undici 7 a run of
// them crashed five times in six against Python's server.
const debianKernels = [1, 2, 3, 4, 5, 6, 7, 8].map((abi) => `6.1.0-${abi}-amd64`);
const suseKernels = ["5.14.21-150500.53-default", "5.14.21-150500.55.39-default"];
const allKernels = [
  ...debianKernels.map((kernel) => `debian/12/x86_64/${kernel}`),
  ...suseKernels.map((kernel) => `opensuse-leap/15.5/x86_64/${kernel}`),
];

// Base64 of random bytes: xz at level 0 keeps most of its size, and decoding it takes a while.
function paddedDbgPackage(kernel: string, version: string, vmlinux: string): AptPackageSpec {
  const spec = dbgPackage({ kernel, version, vmlinux });
  return {
    ...spec,
    compressionLevel: 0,
    // Sorts before usr/lib/debug/boot/: decoded before the vmlinux is reached.
    files: [
      { path: "usr/lib/debug/.build-id/filler", contents: randomBytes(1536 * 1024).toString("base64") },
      ...spec.files,
    ],
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-servers-"));
  root = join(work, "mirror");
  await mkdir(join(work, "keys"));
  key = await createSigningKey(join(work, "keys"));
  const vmlinux = await makeVmlinux(join(work, "vmlinux.o"));
  const debian = await buildAptMirror(join(root, "debian"), {
    arch: "amd64",
    key,
    packagesFormats: ["xz"],
    suites: {
      bookworm: debianKernels.map((kernel, index) => paddedDbgPackage(kernel, `6.1.${index + 10}-1`, vmlinux)),
      "bookworm-updates": [],
      "bookworm-security": [],
    },
  });
  for (const pkg of debian.packages) built.set(pkg.filename.slice(pkg.filename.lastIndexOf("/") + 1), pkg.sha256);
  const suse = (release: string) =>
    kernelDebuginfo({
      name: "kernel-default-debuginfo",
      version: "5.14.21",
      release,
      vmlinux,
      vmlinuxPath: `usr/lib/debug/boot/vmlinux-5.14.21-${release.slice(0, release.lastIndexOf("."))}-default.debug`,
      payload: "zstd",
    });
  const repos = [
    await buildYumRepo(join(root, "opensuse/debug/distribution/leap/15.5/repo/oss"), [suse("150500.53.2")], {
      key,
      compression: "zst",
    }),
    await buildYumRepo(join(root, "opensuse/debug/update/leap/15.5/oss"), [], { key, compression: "zst" }),
    await buildYumRepo(join(root, "opensuse/debug/update/leap/15.5/sle"), [suse("150500.55.39.1")], {
      key,
      compression: "zst",
    }),
  ];
  for (const pkg of repos.flatMap((repo) => repo.packages))
    built.set(pkg.href.slice(pkg.href.lastIndexOf("/") + 1), pkg.sha256);
  python = await startPythonHttpServer(root);
});

afterAll(async () => {
  await python?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs `btfmill run` on the mirror as served at `base`, into an archive of its own. */
async function runAgainst(base: string, http: HttpConfig = {}) {
  const archive = join(work, `archive-${++runs}`);
  const config = join(work, `btfmill-${runs}.json`);
  await writeFile(
    config,
    JSON.stringify({
      archive,
      http,
      sources: [
        { distro: "debian", release: "12", arch: "x86_64", mirror: `${base}/debian`, keyring: key.keyring },
        { distro: "opensuse-leap", release: "15.5", arch: "x86_64", mirror: `${base}/opensuse`, keyring: key.keyring },
      ],
    }),
  );
  const run = await runBtfmill(["run", "--config", config]);
  const manifest = await readManifest(archive);
  return { run, manifest, config };
}

// Python's server serves the mirror to two tests: the run, and the site published from it.
let pythonRun: ReturnType<typeof runAgainst> | undefined;
const runAgainstPython = () => {
  pythonRun ??= runAgainst(python.url);
  return pythonRun;
};

type Outcome = Awaited<ReturnType<typeof runAgainst>>;

// A kernel is `ok` only once its package matched the signed index's sha256 and size.
function expectRightBytes({ run, manifest }: Outcome): void {
  expect(run.stderr).not.toMatch(/AssertionError|ERR_ASSERTION/);
  expect(run.stderr).toContain(`summary: ${allKernels.length} ok, 0 failed`);
  expect(run.exitCode).toBe(0);
  expect(Object.keys(manifest.kernels).sort()).toEqual([...allKernels].sort());
  for (const key of allKernels) {
    const entry = manifest.kernels[key]!;
    expect(entry.status, `${key}: ${entry.reason}`).toBe("ok");
    const file = entry.package.url.slice(entry.package.url.lastIndexOf("/") + 1);
    expect(entry.package.sha256).toBe(built.get(file));
  }
}

async function withServer(behaviour: Behaviour, use: (server: BehavingServer) => Promise<void>): Promise<void> {
  const server = await startBehavingServer(root, behaviour);
  try {
    await use(server);
  } finally {
    await server.close();
  }
}

describe("btfmill run against the servers a mirror sits behind", () => {
  it("reads signed indexes and packages from Python's HTTP/1.0 http.server, which closes after each body", async () => {
    expectRightBytes(await runAgainstPython());
  });

  it("publishes a signed site that Python's http.server serves, and pull and lookup read it: one source's part, checked files", async () => {
    const outcome = await runAgainstPython();
    expectRightBytes(outcome);
    const keys = generateKeyPairSync("ed25519");
    const signing = join(work, "site-signing.pem");
    const publicKey = join(work, "site-signing.pub.pem");
    await writeFile(signing, keys.privateKey.export({ type: "pkcs8", format: "pem" }));
    await writeFile(publicKey, keys.publicKey.export({ type: "spki", format: "pem" }));
    const site = join(work, "python-site");
    const published = await runBtfmill(["publish", "--config", outcome.config, "--out", site, "--key", signing]);
    expect(published.exitCode, published.stderr).toBe(0);
    const siteServer = await startPythonHttpServer(site);
    try {
      const out = join(work, "python-pulled");
      const suse = await runBtfmill([
        "pull",
        "--from",
        siteServer.url,
        "--out",
        out,
        "--public-key",
        publicKey,
        "--distro",
        "opensuse-leap",
        "--release",
        "15.5",
        "--arch",
        "x86_64",
        "--json",
      ]);
      expect(suse.exitCode, suse.stderr).toBe(0);
      expect(JSON.parse(suse.stdout)).toMatchObject({ downloaded: suseKernels.length, unchanged: 0 });
      const index = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as PullIndex;
      expect(Object.keys(index.kernels).sort()).toEqual(allKernels.filter((key) => key.startsWith("opensuse")).sort());
      for (const [key, file] of Object.entries(index.kernels)) {
        expect(await digestFile(join(out, file.path)), key).toEqual({ sha256: file.sha256, size: file.size });
        // No object set in this config: the root serves the kernel's full BTF, the archive's.
        expect(file.sha256, key).toBe(outcome.manifest.kernels[key]!.btf!.sha256);
      }
      const all = await runBtfmill([
        "pull",
        "--from",
        siteServer.url,
        "--out",
        out,
        "--public-key",
        publicKey,
        "--json",
      ]);
      expect(all.exitCode, all.stderr).toBe(0);
      expect(JSON.parse(all.stdout)).toMatchObject({ downloaded: debianKernels.length, unchanged: suseKernels.length });

      const osRelease = join(work, "python-os-release");
      await writeFile(osRelease, 'ID=debian\nVERSION_ID="12"\n');
      const found = await runBtfmill([
        "lookup",
        "--from",
        siteServer.url,
        "--os-release",
        osRelease,
        "--kernel",
        debianKernels[0]!,
        "--arch",
        "amd64",
        "--public-key",
        publicKey,
      ]);
      expect(found.exitCode, found.stderr).toBe(0);
      expect(found.stdout).toBe(`${siteServer.url}/debian/12/x86_64/${debianKernels[0]}.btf`);
    } finally {
      await siteServer.close();
    }
  });

  it("reads them from a server that answers `Connection: close` and closes after each body", async () => {
    await withServer({ kind: "close" }, async (server) => {
      expectRightBytes(await runAgainst(server.url));
      expect(server.requests.filter((request) => /\.(deb|rpm)$/.test(request.path))).toHaveLength(allKernels.length);
    });
  });

  it("reads them from chunked bodies that carry no Content-Length", async () => {
    await withServer({ kind: "chunked", chunkBytes: 48 * 1024 }, async (server) => {
      expectRightBytes(await runAgainst(server.url));
    });
  });

  it("follows 301, 302, 307 and 308 to another origin, here Python's http.server", async () => {
    await withServer({ kind: "redirect", to: python.url }, async (server) => {
      expectRightBytes(await runAgainst(server.url));
      expect(new Set(server.requests.map((request) => request.status))).toEqual(new Set([301, 302, 307, 308]));
      expect(server.requests.filter((request) => /\.(deb|rpm)$/.test(request.path))).toHaveLength(allKernels.length);
    });
  });

  it("waits out a server that trickles its bytes", async () => {
    await withServer({ kind: "trickle", bytes: 32 * 1024, everyMs: 4 }, async (server) => {
      expectRightBytes(await runAgainst(server.url));
    });
  });

  it("resumes every index and package whose connection was reset mid-body, from the byte where it broke", async () => {
    await withServer({ kind: "reset", times: 1, paths: /./ }, async (server) => {
      expectRightBytes(await runAgainst(server.url, { retry: { baseDelayMs: 10, maxDelayMs: 40 } }));
      const packages = server.requests.filter((request) => /\.(deb|rpm)$/.test(request.path));
      expect(packages.filter((request) => request.reset)).toHaveLength(allKernels.length);
      // A package asks for the rest with a Range request (206); one whose reset came before
      // btfmill had read the response's headers is asked for again whole.
      expect(
        packages.filter((request) => request.status === 206 && request.range !== undefined).length,
      ).toBeGreaterThan(0);
      expect(packages).toHaveLength(2 * allKernels.length);
      expect(
        server.requests.filter((request) => request.path.endsWith("/InRelease")).map((request) => request.reset),
      ).toContain(true);
      expect(
        server.requests.filter((request) => request.path.endsWith("/repomd.xml.asc")).map((request) => request.reset),
      ).toContain(true);
    });
  });

  it("fails each kernel whose package resets on every attempt as a FetchError naming the package, with a hint, and the run ends normally", async () => {
    await withServer({ kind: "reset", times: Number.POSITIVE_INFINITY, paths: /\.(deb|rpm)$/ }, async (server) => {
      const { run, manifest } = await runAgainst(server.url, {
        retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 40 },
      });
      expect(run.stderr).not.toMatch(/AssertionError|ERR_ASSERTION/);
      expect(run.stderr).toContain(`summary: 0 ok, ${allKernels.length} failed`);
      expect(run.exitCode).toBe(1);
      for (const key of allKernels) {
        const entry = manifest.kernels[key]!;
        expect(entry.status).toBe("failed");
        expect(entry.transient).toBe(true);
        // The last of the 3 attempts decides the wording: a body that broke, or a reset before its headers.
        expect(entry.reason).toMatch(
          /^FetchError: .*(the download broke after \d+ of \d+ bytes|cannot reach).*\(gave up after 3 attempts\)/,
        );
        expect(entry.reason).toContain(`[${entry.package.url}]`);
        expect(entry.reason).toMatch(
          /\(the server kept failing: the next run tries again; if it lasts, use another mirror\)$/,
        );
      }
      expect(manifest.sources["debian/12/x86_64"]?.status).toBe("ok");
      expect(manifest.sources["opensuse-leap/15.5/x86_64"]?.status).toBe("ok");
    });
  });
});
