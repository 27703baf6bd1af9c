// End to end, as a user runs it: `btfmill plan` and `btfmill run` against mirrors on 127.0.0.1
// (dpkg-deb, apt-ftparchive, gpg) that lack default suites. An Ubuntu mirror without -security
// and -proposed and a Debian one without -updates are read as far as they go, the missing suites
// named in the output and the report; a suite the config lists, Debian's security suite, a 500
// and a foreign signature still fail their source. The same mirrors behind Python's http.server
// (HTTP/1.0, its own 404 pages) give the same run.
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../../archive/state.ts";
import type { PlanPreview } from "../../pipeline/plan-preview.ts";
import type { RunReport } from "../../pipeline/run-report.ts";
import {
  buildAptMirror,
  createSigningKey,
  dbgPackage,
  dbgsymPackage,
  type SigningKey,
} from "../fixtures/apt-mirror.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { runBtfmill } from "../helpers/cli.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

type CliResult = Awaited<ReturnType<typeof runBtfmill>>;

describe("btfmill on mirrors that lack default suites", () => {
  let work: string;
  let served: string;
  let key: SigningKey;
  let server: StaticServer;
  let archive: string;
  let configPath: string;
  let plan: CliResult;
  let run: CliResult;

  // Every source reads the mirrors' one key; a failing source fails fast (no retry backoff).
  const writeConfig = async (name: string, sources: object[]): Promise<string> => {
    const path = join(work, `${name}.json`);
    await writeFile(
      path,
      JSON.stringify({
        archive: join(work, `${name}-archive`),
        sources,
        http: { retry: { attempts: 2, baseDelayMs: 10 } },
      }),
    );
    return path;
  };
  const ubuntu = (mirror: string[], more: object = {}) => ({
    distro: "ubuntu",
    release: "20.04",
    arch: "x86_64",
    mirror,
    keyring: key.keyring,
    ...more,
  });
  const debian = (release: string) => ({
    distro: "debian",
    release,
    arch: "x86_64",
    mirror: `${server.url}/debian`,
    keyring: key.keyring,
    kernelsWithBtf: "all",
  });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-absent-suites-"));
    const plain = await makeVmlinux(join(work, "plain.o"));
    await mkdir(join(work, "keys"));
    await mkdir(join(work, "stranger-keys"));
    key = await createSigningKey(join(work, "keys"));
    served = join(work, "served");
    // BTFHub's view of Ubuntu: the release and -updates, no -security, no -proposed.
    await buildAptMirror(join(served, "ubuntu"), {
      arch: "amd64",
      key,
      origin: "Ubuntu",
      suites: {
        focal: [
          dbgsymPackage({ kernel: "5.4.0-26-generic", version: "5.4.0-26.30", vmlinux: plain, compression: "zstd" }),
        ],
        "focal-updates": [
          dbgsymPackage({ kernel: "5.4.0-42-generic", version: "5.4.0-42.46", vmlinux: plain, compression: "zstd" }),
        ],
      },
    });
    // A partial Debian mirror: the point release and the security suite, no -updates; bullseye without its security suite.
    await buildAptMirror(join(served, "debian"), {
      arch: "amd64",
      key,
      suites: {
        bookworm: [dbgPackage({ kernel: "6.1.0-1-cloud-amd64", version: "6.1.10-1", vmlinux: plain })],
        "bookworm-security": [
          dbgPackage({ kernel: "6.1.0-2-cloud-amd64", version: "6.1.11-1", vmlinux: plain, compression: "zstd" }),
        ],
        bullseye: [dbgPackage({ kernel: "5.10.0-1-cloud-amd64", version: "5.10.1-1", vmlinux: plain })],
      },
    });
    // A second mirror that carries focal-proposed, signed by a key the config does not trust.
    await buildAptMirror(join(served, "stranger"), {
      arch: "amd64",
      key: await createSigningKey(join(work, "stranger-keys"), "someone else"),
      origin: "Ubuntu",
      suites: { "focal-proposed": [] },
    });
    // The Ubuntu mirror again, whose server fails on focal-proposed's InRelease instead of answering 404.
    await symlink(join(served, "ubuntu"), join(served, "failing"));
    server = await startStaticServer(served, { statuses: { "/failing/dists/focal-proposed/InRelease": 500 } });
    // Two mirrors, neither of which has focal-security or focal-proposed (nothing is served under /empty).
    configPath = await writeConfig("partial", [ubuntu([`${server.url}/ubuntu`, `${server.url}/empty`]), debian("12")]);
    archive = join(work, "partial-archive");
    plan = await runBtfmill(["plan", "--config", configPath]);
    run = await runBtfmill(["run", "--config", configPath]);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("plans every kernel of the suites the mirrors have and names the suites they lack, exit 0", () => {
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout.split("\n")).toEqual(
      expect.arrayContaining([
        "source debian/12/x86_64: ok (no mirror carries bookworm-updates, read as empty)",
        "source ubuntu/20.04/x86_64: ok (no mirror carries focal-security, focal-proposed, read as empty)",
      ]),
    );
    expect(plan.stderr).toContain("plan: 4 new;");
  });

  it("converts the kernels of the suites the mirrors have and exits 0", async () => {
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain("summary: 4 ok, 0 failed, 0 skipped, 0 unchanged");
    const manifest = await readManifest(archive);
    expect(
      Object.entries(manifest.kernels)
        .map(([kernel, entry]) => `${kernel} ${entry.status} ${entry.package.origin}`)
        .sort(),
    ).toEqual([
      "debian/12/x86_64/6.1.0-1-cloud-amd64 ok bookworm",
      "debian/12/x86_64/6.1.0-2-cloud-amd64 ok bookworm-security",
      "ubuntu/20.04/x86_64/5.4.0-26-generic ok focal",
      "ubuntu/20.04/x86_64/5.4.0-42-generic ok focal-updates",
    ]);
    expect(manifest.sources["ubuntu/20.04/x86_64"]).toMatchObject({ status: "ok" });
    expect(manifest.sources["debian/12/x86_64"]).toMatchObject({ status: "ok" });
  });

  it("names the absent suites per source as it reads them and in its summary", () => {
    const lines = run.stderr.split("\n");
    expect(lines).toContain(
      "source ubuntu/20.04/x86_64: 2 kernel package(s) found; no mirror carries focal-security, focal-proposed, read as empty",
    );
    expect(lines).toContain(
      "source debian/12/x86_64: 2 kernel package(s) found; no mirror carries bookworm-updates, read as empty",
    );
    expect(lines).toContain(
      "  suites absent ubuntu/20.04/x86_64: no mirror carries focal-security, focal-proposed, read as empty",
    );
    expect(lines).toContain("  suites absent debian/12/x86_64: no mirror carries bookworm-updates, read as empty");
  });

  it("names the absent suites per source in the run report, and asked each mirror for InRelease and Release only", async () => {
    const reports = await readdir(join(archive, "reports"));
    expect(reports).toHaveLength(1);
    const report = JSON.parse(await readFile(join(archive, "reports", reports[0]!), "utf8")) as RunReport;
    expect(report.sources["ubuntu/20.04/x86_64"]).toMatchObject({
      status: "ok",
      found: 2,
      absentSuites: ["focal-security", "focal-proposed"],
      kernels: { ok: 2 },
    });
    expect(report.sources["debian/12/x86_64"]).toMatchObject({
      status: "ok",
      found: 2,
      absentSuites: ["bookworm-updates"],
      kernels: { ok: 2 },
    });
    expect(report.summary.absentSuites).toEqual([
      { source: "ubuntu/20.04/x86_64", suites: ["focal-security", "focal-proposed"] },
      { source: "debian/12/x86_64", suites: ["bookworm-updates"] },
    ]);
    const asked = server.requests
      .filter((request) => request.path.includes("/dists/focal-proposed/"))
      .map((request) => `${request.path} ${request.status}`);
    expect(new Set(asked)).toEqual(
      new Set([
        "/ubuntu/dists/focal-proposed/InRelease 404",
        "/ubuntu/dists/focal-proposed/Release 404",
        "/empty/dists/focal-proposed/InRelease 404",
        "/empty/dists/focal-proposed/Release 404",
      ]),
    );
  });

  it("plans nothing after the run, so the hourly workflow's check skips its shards and publish", async () => {
    const again = await runBtfmill(["plan", "--json", "--config", configPath]);
    expect(again.exitCode).toBe(0);
    const planFile = join(work, "again.plan.json");
    await writeFile(planFile, again.stdout);
    const script = new URL("../../.github/scripts/has-work.sh", import.meta.url).pathname;
    const check = await execa(script, [planFile, join(archive, "manifest.json")]);
    expect(check.stdout).toBe("false");
    expect(check.stderr).toMatch(/^no work: nothing new since the site was published \d+ s ago$/);
  });

  it("fails a source whose config lists a suite no mirror carries, naming the suite, exit 1", async () => {
    const listed = await runBtfmill([
      "run",
      "--config",
      await writeConfig("listed", [ubuntu([`${server.url}/ubuntu`], { suites: ["focal", "focal-proposed"] })]),
    ]);
    expect(listed.exitCode).toBe(1);
    expect(listed.stderr).toMatch(
      /stale ubuntu\/20\.04\/x86_64: FetchError: suite focal-proposed was found on none of the mirrors tried: http:\/\/127\.0\.0\.1:\d+\/ubuntu \(absent\)/,
    );
    expect(listed.stderr).toContain("summary: 0 ok, 0 failed, 0 skipped, 0 unchanged, 1 source(s) stale");
  });

  it("fails a Debian source whose security suite no mirror carries: it is where new kernels arrive between point releases", async () => {
    const noSecurity = await runBtfmill(["run", "--config", await writeConfig("no-security", [debian("11")])]);
    expect(noSecurity.exitCode).toBe(1);
    expect(noSecurity.stderr).toMatch(
      /stale debian\/11\/x86_64: FetchError: suite bullseye-security was found on none of the mirrors tried/,
    );
  });

  it("fails the source when a mirror answers 500 for a default suite instead of 404", async () => {
    const failing = await runBtfmill([
      "run",
      "--config",
      await writeConfig("failing", [ubuntu([`${server.url}/failing`])]),
    ]);
    expect(failing.exitCode).toBe(1);
    expect(failing.stderr).toMatch(
      /stale ubuntu\/20\.04\/x86_64: FetchError: suite focal-proposed was found on none of the mirrors tried: .*\/failing \(.*500/,
    );
  });

  it("fails the source when a mirror carries a default suite under a signature the keyring does not trust", async () => {
    const foreign = await runBtfmill([
      "run",
      "--config",
      await writeConfig("foreign", [ubuntu([`${server.url}/ubuntu`, `${server.url}/stranger`])]),
    ]);
    expect(foreign.exitCode).toBe(1);
    expect(foreign.stderr).toMatch(/stale ubuntu\/20\.04\/x86_64: IntegrityError: .*focal-proposed/);
  });

  it("with `proposed: false` never asks for -proposed, so that mirror's signature does not matter", async () => {
    const before = server.requests.length;
    const optedOut = await runBtfmill([
      "plan",
      "--json",
      "--config",
      await writeConfig("opted-out", [ubuntu([`${server.url}/ubuntu`, `${server.url}/stranger`], { proposed: false })]),
    ]);
    expect(optedOut.exitCode).toBe(0);
    const preview = JSON.parse(optedOut.stdout) as PlanPreview;
    expect(preview.sources).toEqual([
      { source: "ubuntu/20.04/x86_64", status: "ok", unchanged: 0, absentSuites: ["focal-security"] },
    ]);
    expect(preview.kernels.map((kernel) => kernel.kernel)).toEqual([
      "ubuntu/20.04/x86_64/5.4.0-26-generic",
      "ubuntu/20.04/x86_64/5.4.0-42-generic",
    ]);
    expect(server.requests.slice(before).filter((request) => request.path.includes("proposed"))).toEqual([]);
  });

  it("reads the same mirrors behind Python's http.server, whose 404s for the absent suites are read as empty", async () => {
    // `-u`: the line naming the port must not wait in a pipe buffer.
    const python = execa("python3", ["-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", served, "0"], {
      reject: false,
      buffer: { stdout: false },
    });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        python.stdout.on("data", (chunk: Buffer) => {
          const match = /port (\d+)/.exec(chunk.toString());
          if (match) resolve(match[1]!);
        });
        python.once("exit", () => reject(new Error("python3 -m http.server exited before it listened")));
      });
      const url = `http://127.0.0.1:${port}`;
      const config = await writeConfig("python", [
        ubuntu([`${url}/ubuntu`]),
        {
          distro: "debian",
          release: "12",
          arch: "x86_64",
          mirror: `${url}/debian`,
          keyring: key.keyring,
          kernelsWithBtf: "all",
        },
      ]);
      const pythonRun = await runBtfmill(["run", "--config", config]);
      expect(pythonRun.stderr).toContain("summary: 4 ok, 0 failed, 0 skipped, 0 unchanged");
      expect(pythonRun.stderr).toContain(
        "  suites absent ubuntu/20.04/x86_64: no mirror carries focal-security, focal-proposed, read as empty",
      );
      expect(pythonRun.stderr).toContain(
        "  suites absent debian/12/x86_64: no mirror carries bookworm-updates, read as empty",
      );
      expect(pythonRun.exitCode).toBe(0);
    } finally {
      python.kill();
    }
    const log = (await python).stderr;
    for (const path of [
      "/ubuntu/dists/focal-proposed/InRelease",
      "/ubuntu/dists/focal-proposed/Release",
      "/debian/dists/bookworm-updates/Release",
    ]) {
      expect(log).toContain(`"GET ${path} HTTP/1.1" 404`);
    }
  });
});
