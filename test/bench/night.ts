// Benchmark (issue 19, item 5): a night of the scheduled workflow at BTFHub's scale. An archive of
// 10,000 kernels over 60 sources, published as last night's site and saved as last night's release
// assets; a signed Debian mirror on 127.0.0.1 whose indexes list those kernels plus 5 new ones
// whose packages are really built; then the real CLI, one process per step, in the workflow's
// order (.github/workflows/nightly.yml): plan from the site, two shards each on a fresh machine
// (an empty archive and `--state` the site), then the publish job: restore the state and the
// sources the plan gives work from the release assets, merge the shards, publish with a signing
// key, save the release assets keeping the other sources' (--keep-absent). Each step reports wall
// time, CPU, peak RSS of the btfmill process and of its largest child (pahole, bpftool), bytes
// served by the loopback mirror, site and releases stand-in, and bytes the step wrote to disk.
//
//   node test/bench/night.ts [--kernels=N] [--sources=N] [--quick]   (default 10,000 over 60; --quick 600 over 6)
//
// The archive is real where the night looks at it: the manifest by the archive's own writer, one
// object set minified by the minify stage (bpftool) and shared by content, a BTFHub tarball at
// every entry's path (hard links to one real tarball of the fixture kernel's BTF: a few KB where
// BTFHub's are about 1 MB, so bytes of tarballs scale by that ratio). The new kernels convert with
// pahole and minify with bpftool. Scratch space is .bench/ in the repository, removed at the end.
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { link, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBtf } from "../../archive/btf/index.ts";
import { writeBtfTarball } from "../../archive/btf-tarball.ts";
import { digestFile } from "../../archive/file-digest.ts";
import { keyPath, type KernelKey } from "../../archive/kernel-key.ts";
import { archiveTarballPath } from "../../archive/layout.ts";
import { emptyManifest } from "../../archive/manifest.ts";
import { writeManifest } from "../../archive/state.ts";
import { doneEntry } from "./done-entry.ts";
import type { PlanPreview } from "../../pipeline/plan-preview.ts";
import { loadObjectSets } from "../../pipeline/object-registry.ts";
import { minifySets } from "../../pipeline/stages/minify.ts";
import {
  buildAptMirror,
  createSigningKey,
  dbgPackage,
  writeListedSuite,
  type BuiltAptPackage,
  type ListedAptPackage,
} from "../fixtures/apt-mirror.ts";
import { makeCoreObject, makeKernelBtf } from "../fixtures/bpf-objects.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { startGitHubStandIn } from "../helpers/github-releases-stand-in.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";
import { countOption, formatTable, measureCommand, type Measurement } from "./measure.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(repoRoot, "bin", "btfmill.js");
const node = process.execPath;
const repo = "bench/archive";
const token = "bench-token";
const newKernels = 5;
const shards = 2;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
const mb = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(0)} KB`);
const flavors = ["amd64", "cloud-amd64", "rt-amd64"];

interface Source {
  release: string;
  suite: string;
  kernels: { key: KernelKey; flavor: string; package: ListedAptPackage }[];
}

// Source s is debian/<100+s>/x86_64, read from its own suite; kernel i belongs to source i mod M,
// flavor by turns, ABI counting up within its source as Debian numbers them (6.1.0-<abi>-<flavor>).
function sourcesOf(kernels: number, count: number): Source[] {
  const sources: Source[] = Array.from({ length: count }, (_, s) => ({
    release: String(100 + s),
    suite: `night${s}`,
    kernels: [],
  }));
  for (let i = 0; i < kernels; i++) {
    const source = sources[i % count]!;
    const n = source.kernels.length;
    const flavor = flavors[n % flavors.length]!;
    const abi = Math.floor(n / flavors.length) + 1;
    const kernel = `6.1.0-${abi}-${flavor}`;
    const name = `linux-image-${kernel}-dbg`;
    const version = `6.1.${abi}-1`;
    source.kernels.push({
      key: { distro: "debian", release: source.release, arch: "x86_64", kernel },
      flavor,
      package: {
        name,
        version,
        source: "linux",
        filename: `pool/main/l/linux/${name}_${version}_${source.suite}_amd64.deb`,
        size: 280_000_000 + i,
        sha256: `${i.toString(16).padStart(8, "0")}${"0".repeat(56)}`,
      },
    });
  }
  return sources;
}

// The archive last night left: every listed kernel converted and minified for one set.
async function buildArchive(work: string, archive: string, sources: Source[], mirrorUrl: string, object: string) {
  const scratch = join(work, "scratch");
  await mkdir(join(scratch, "minify"), { recursive: true });
  const btf = await makeKernelBtf(scratch, "normal");
  const tarball = join(scratch, "kernel.btf.tar.xz");
  await writeBtfTarball(btf, "kernel.btf", tarball);
  const tarballDigest = await digestFile(tarball);
  const sets = await loadObjectSets({ net: [{ path: object }] }, archive);
  const minified = await minifySets(btf, await loadBtf(btf), sets, {
    archiveRoot: archive,
    scratch: join(scratch, "minify"),
    kernel: "template",
  });
  const btfDigest = await digestFile(btf);
  const manifest = emptyManifest();
  const now = new Date().toISOString();
  manifest.updatedAt = now;
  for (const source of sources) {
    manifest.sources[`debian/${source.release}/x86_64`] = { status: "ok", refreshedAt: now, checkedAt: now };
    await mkdir(join(archive, "debian", source.release, "x86_64"), { recursive: true });
    for (const { key, flavor, package: listed } of source.kernels) {
      const path = archiveTarballPath(key);
      await link(tarball, join(archive, path));
      manifest.kernels[keyPath(key)] = doneEntry(
        { key, flavor, listed, origin: source.suite, path },
        { mirrorUrl, btf: btfDigest, tarball: tarballDigest, minified, updatedAt: now },
      );
    }
  }
  await writeManifest(archive, manifest);
  await rm(scratch, { recursive: true, force: true });
}

interface Step {
  label: string;
  args: string[];
  /** Folders the step writes, whose growth is reported. */
  folders: string[];
  /** Bytes moved to or from the releases stand-in, from the command's --json output. */
  github?: (stdout: string) => { down: number; up: number };
  check: (stdout: string) => void;
}

interface Row {
  step: Step;
  measured: Measurement;
  mirror: number;
  site: number;
  github: { down: number; up: number };
  grown: number;
}

async function folderBytes(dir: string): Promise<number> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  let total = 0;
  for (const name of names) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) total += info.size;
  }
  return total;
}

const served = (server: StaticServer, from: number) =>
  server.requests.slice(from).reduce((sum, request) => sum + request.bytes, 0);

async function measureStep(step: Step, mirror: StaticServer, site: StaticServer): Promise<Row> {
  const before = { mirror: mirror.requests.length, site: site.requests.length };
  const sizes = await Promise.all(step.folders.map(folderBytes));
  const measured = await measureCommand(step.label, [node, cli, ...step.args]);
  step.check(measured.stdout);
  const after = await Promise.all(step.folders.map(folderBytes));
  return {
    step,
    measured,
    mirror: served(mirror, before.mirror),
    site: served(site, before.site),
    github: step.github?.(measured.stdout) ?? { down: 0, up: 0 },
    grown: after.reduce((sum, size, index) => sum + size - sizes[index]!, 0),
  };
}

function expectEqual<T>(what: string, actual: T, expected: T): void {
  if (actual !== expected) throw new Error(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

async function mkdirp(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}

async function main(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const kernelCount = countOption(args, "kernels", quick ? 600 : 10_000);
  const sourceCount = countOption(args, "sources", quick ? 6 : 60);
  const work = join(repoRoot, ".bench", `night-${process.pid}`);
  await mkdir(work, { recursive: true });
  const closers: (() => Promise<void>)[] = [];
  try {
    const started = Date.now();
    const sources = sourcesOf(kernelCount, sourceCount);
    // Tonight's kernels: real packages, each one ABI past the newest its source lists.
    const vmlinux = await makeVmlinux(join(work, "vmlinux.o"));
    const tonight = Array.from({ length: newKernels }, (_, n) => {
      const source = sources[n % sources.length]!;
      const abi = source.kernels.length + 1 + Math.floor(n / sources.length);
      return { source, spec: dbgPackage({ kernel: `6.1.0-${abi}-cloud-amd64`, version: `6.1.${abi}-1`, vmlinux }) };
    });
    const mirror = await buildAptMirror(join(work, "mirror"), {
      arch: "amd64",
      key: await createSigningKey(await mkdirp(join(work, "keys"))),
      suites: { built: tonight.map(({ spec }) => spec) },
    });
    const built = new Map<string, BuiltAptPackage>(mirror.packages.map((pkg) => [pkg.name, pkg]));
    const mirrorServer = await startStaticServer(mirror.root);
    closers.push(() => mirrorServer.close());

    const object = await makeCoreObject(await mkdirp(join(work, "objects")), "tcprtt");
    const signing = generateKeyPairSync("ed25519");
    const signingKey = join(work, "signing.pem");
    await writeFile(signingKey, signing.privateKey.export({ type: "pkcs8", format: "pem" }));
    const configFor = async (name: string) => {
      const path = join(work, `${name}.json`);
      const config = {
        archive: join(work, name, "btf-archive"),
        sources: sources.map((source) => ({
          distro: "debian",
          release: source.release,
          arch: "x86_64",
          mirror: mirrorServer.url,
          keyring: mirror.keyring,
          suites: [source.suite],
        })),
        objects: { net: [object] },
      };
      await mkdir(join(work, name), { recursive: true });
      await writeFile(path, JSON.stringify(config, null, 2));
      return { path, archive: config.archive, dir: join(work, name) };
    };

    // Last night: the archive, its site and its release assets, with the indexes as they were then.
    const lastNight = await configFor("last-night");
    await buildArchive(work, lastNight.archive, sources, mirrorServer.url, object);
    const github = await startGitHubStandIn({ repo, token });
    closers.push(() => github.close());
    process.env.GITHUB_API_URL = github.apiUrl;
    process.env.GH_TOKEN = token;
    const lastSite = join(lastNight.dir, "btf-site");
    const setup: string[] = [];
    for (const args of [
      ["publish", "--config", lastNight.path, "--out", lastSite, "--key", signingKey],
      ["release", "save", "--config", lastNight.path, "--repo", repo, "--tag", "archive"],
    ]) {
      const measured = await measureCommand(`last night: ${args[0]}`, [node, cli, ...args]);
      setup.push(`${args.slice(0, 2).join(" ").replace(" --config", "")} ${measured.wallSeconds.toFixed(1)} s`);
    }
    const siteServer = await startStaticServer(lastSite);
    closers.push(() => siteServer.close());
    // Tonight's indexes: every source as last night, five of them with a new kernel.
    for (const source of sources) {
      const added = tonight
        .filter((kernel) => kernel.source === source)
        .map(({ spec }): ListedAptPackage => {
          const { name, version, filename, size, sha256 } = built.get(spec.name)!;
          return { name, version, source: "linux", filename, size, sha256 };
        });
      await writeListedSuite(mirror, source.suite, [...source.kernels.map((kernel) => kernel.package), ...added]);
    }
    console.log(
      `${kernelCount} kernels over ${sourceCount} sources archived, published and saved (${setup.join(", ")}), ${newKernels} new on the mirror, in ${((Date.now() - started) / 1000).toFixed(1)} s; load average ${load()}`,
    );

    const state = ["--state", siteServer.url];
    const plan = await configFor("plan");
    const shardConfigs = await Promise.all(
      Array.from({ length: shards }, (_, index) => configFor(`shard${index + 1}`)),
    );
    const publish = await configFor("publish");
    const publishedSite = join(publish.dir, "btf-site");
    const planFile = join(plan.dir, "plan.json");
    const newKeys = tonight.map(({ source, spec }) => `debian/${source.release}/x86_64/${spec.name.slice(12, -4)}`);
    let processed = 0;
    const downloaded = (stdout: string) => ({
      down: (JSON.parse(stdout) as { downloadedBytes: number }).downloadedBytes,
      up: 0,
    });
    const uploaded = (stdout: string) => ({
      down: 0,
      up: (JSON.parse(stdout) as { uploadedBytes: number }).uploadedBytes,
    });
    const steps: Step[] = [
      {
        label: "plan --json",
        args: ["plan", "--config", plan.path, ...state, "--json"],
        folders: [plan.dir],
        check: (stdout) => {
          // The plan job's artifact, which the publish job restores by.
          writeFileSync(planFile, stdout);
          const preview = JSON.parse(stdout) as PlanPreview;
          const fresh = preview.kernels.filter((kernel) => kernel.action === "new").map((kernel) => kernel.kernel);
          expectEqual("plan: new kernels", JSON.stringify(fresh.sort()), JSON.stringify([...newKeys].sort()));
        },
      },
      ...shardConfigs.map(
        (config, index): Step => ({
          label: `run --shard ${index + 1}/${shards}`,
          args: ["run", "--config", config.path, "--shard", `${index + 1}/${shards}`, ...state, "--json"],
          folders: [config.dir],
          check: (stdout) => {
            const summary = JSON.parse(stdout) as { processed: number; failed: unknown[]; staleSources: unknown[] };
            expectEqual(`shard ${index + 1}: failed`, JSON.stringify(summary.failed), "[]");
            expectEqual(`shard ${index + 1}: stale sources`, JSON.stringify(summary.staleSources), "[]");
            processed += summary.processed;
          },
        }),
      ),
      {
        label: "release restore --sources-from",
        args: [
          "release",
          "restore",
          "--config",
          publish.path,
          "--repo",
          repo,
          "--tag",
          "archive",
          "--sources-from",
          planFile,
          "--json",
        ],
        folders: [publish.dir],
        github: downloaded,
        check: () => expectEqual("shards: kernels processed", processed, newKernels),
      },
      {
        label: "merge",
        args: ["merge", ...shardConfigs.map((config) => config.archive), "--out", publish.archive, ...state, "--json"],
        folders: [publish.dir],
        check: (stdout) =>
          expectEqual("merge: kernels", (JSON.parse(stdout) as { kernels: number }).kernels, kernelCount + newKernels),
      },
      {
        label: "publish --key",
        args: ["publish", "--config", publish.path, "--out", publishedSite, "--key", signingKey, ...state, "--json"],
        folders: [publish.dir],
        check: (stdout) =>
          expectEqual(
            "publish: kernels with BTF",
            (JSON.parse(stdout) as { kernels: { ok: number } }).kernels.ok,
            kernelCount + newKernels,
          ),
      },
      {
        label: "release save --keep-absent",
        args: [
          "release",
          "save",
          "--config",
          publish.path,
          "--repo",
          repo,
          "--tag",
          "archive",
          "--keep-absent",
          "--json",
        ],
        folders: [publish.dir],
        github: uploaded,
        check: () => {},
      },
    ];
    const rows: Row[] = [];
    for (const step of steps) rows.push(await measureStep(step, mirrorServer, siteServer));

    const total = rows.reduce(
      (sum, row) => ({
        wall: sum.wall + row.measured.wallSeconds,
        http: sum.http + row.mirror + row.site + row.github.down + row.github.up,
      }),
      { wall: 0, http: 0 },
    );
    const table = [
      [
        "step",
        "wall",
        "CPU",
        "btfmill RSS",
        "largest child (sampled)",
        "mirror HTTP",
        "site HTTP",
        "releases down/up",
        "disk written",
        "folders grew",
      ],
      ...rows.map((row) => {
        const { measured } = row;
        const children = Object.entries(measured.peakRssByCommand).filter(([command]) => command !== "node");
        const largest = children.sort(([, a], [, b]) => b - a)[0];
        return [
          row.step.label,
          `${measured.wallSeconds.toFixed(2)} s`,
          `${(measured.userSeconds + measured.systemSeconds).toFixed(2)} s`,
          mb(measured.peakRssByCommand.node ?? measured.maxRssBytes),
          largest === undefined ? "-" : `${largest[0]} ${mb(largest[1])}`,
          mb(row.mirror),
          mb(row.site),
          row.step.github === undefined ? "-" : `${mb(row.github.down)} / ${mb(row.github.up)}`,
          mb(measured.diskWrittenBytes),
          mb(row.grown),
        ];
      }),
      ["night", `${total.wall.toFixed(2)} s`, "", "", "", "", "", "", "", ""],
    ];
    console.log(`\n${formatTable(table)}\n`);
    console.log(
      `HTTP moved in all: ${mb(total.http)}; load average now ${load()} (a shared machine: wall times vary with it)`,
    );
  } finally {
    for (const close of closers.reverse()) await close();
    await rm(work, { recursive: true, force: true });
  }
}

await main(process.argv.slice(2));
