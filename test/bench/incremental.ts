// Benchmark (issues 9 and 19): a run that finds nothing new. An archive of N kernels already done
// across S sources and a signed Debian mirror on 127.0.0.1 whose indexes list exactly those
// kernels (one suite per source when S > 1); then the real CLI's `btfmill plan` and `btfmill run`
// on it, over every source and shard-style over one (`--distro --release --arch`), each as its
// own process, against baselines measured in the same invocation: the bare start of the CLI
// (`--help`), reading and verifying every source's indexes alone, and reading the whole archive
// state alone. Three cases of "nothing new": every source read in full (`--recheck`, as when every
// suite's indexes changed), every suite signed again over the same Packages (each source settled:
// its InRelease verified, no index or part read), and nothing changed since the run before (its
// InRelease alone fetched). Targets: 10,000 kernels in one source, under 3 s; 100,000 across 200 sources, all
// sources under 5 s with node under 300 MB, one source under 1 s with node under 150 MB. Last,
// `btfmill merge` of two one-source shard outputs into the archive, which passes every source's
// part through one at a time, as a run over all sources does: the same target.
//
//   node test/bench/incremental.ts [--kernels=N] [--sources=S] [--runs=N] [--cpu-prof]   (Node 24: make bench)
//
// --cpu-prof writes a V8 CPU profile of each btfmill command to .bench/profiles/ (kept).
// The archive is real where plan and run look: the state (root and one part per source) by the
// archive's own writer, one object set minified by the minify stage (bpftool), and a BTFHub
// tarball at every entry's path (symbolic links to one real tarball: a plan checks that each
// exists, not what it holds; hard links would pass the filesystem's link limit). The mirror's
// Packages list -dbg packages that were never built; fetching one would be a 404, and the server
// counts every request by path. Scratch space is .bench/ in the repository, removed at the end.
import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import module from "node:module";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pLimit from "p-limit";
import { loadBtf } from "../../archive/btf/index.ts";
import { writeBtfTarball } from "../../archive/btf-tarball.ts";
import { digestFile } from "../../archive/file-digest.ts";
import { pathExists } from "../../archive/file-listing.ts";
import { archiveTarballPath } from "../../archive/layout.ts";
import { emptyManifest } from "../../archive/manifest.ts";
import { openArchiveState, readManifest, writeManifest } from "../../archive/state.ts";
import { doneEntry } from "./done-entry.ts";
import { createSource } from "../../distros/index.ts";
import { keyPath, type KernelKey } from "../../archive/kernel-key.ts";
import { loadConfig } from "../../pipeline/config.ts";
import { configureHttp } from "../../distros/net/http-settings.ts";
import { loadObjectSets } from "../../pipeline/object-registry.ts";
import { minifySets } from "../../pipeline/stages/minify.ts";
import {
  buildAptMirror,
  createSigningKey,
  resignSuite,
  writeListedSuite,
  type ListedAptPackage,
} from "../fixtures/apt-mirror.ts";
import { makeCoreObject, makeKernelBtf } from "../fixtures/bpf-objects.ts";
import { startStaticServer, type ServedRequest } from "../helpers/static-server.ts";
import { countOption, formatMeasurements, formatTable, measureCommand, median, type Measurement } from "./measure.ts";

const self = fileURLToPath(import.meta.url);
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(repoRoot, "bin", "btfmill.js");
const node = process.execPath;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
// Debian 12's amd64 flavors that publish -dbg packages.
const flavors = ["amd64", "cloud-amd64", "rt-amd64"];

// The baselines that run in a process of their own, started by the main run below.
const workers: Record<string, (args: string[]) => Promise<unknown>> = {
  async discover([configPath]) {
    const config = await loadConfig(configPath);
    configureHttp(config.http);
    // A few sources at a time, as a run reads them.
    const limit = pLimit(4);
    const found = await Promise.all(config.sources.map((source) => limit(() => createSource(source).discover())));
    return { packages: found.reduce((total, packages) => total + packages.length, 0) };
  },
  async manifest([configPath]) {
    const config = await loadConfig(configPath);
    return { kernels: Object.keys((await readManifest(config.archive)).kernels).length };
  },
};

interface Listed {
  key: KernelKey;
  flavor: string;
  package: ListedAptPackage;
}

/** One source of the bench: Debian 12 itself when it is the only one, else release `b000`, `b001`... read from suite `bench<i>`. */
interface BenchSource {
  release: string;
  suite: string | undefined;
  kernels: Listed[];
}

// Kernel i of a source: flavor i mod 3, ABI i / 3 + 1, as Debian numbers them (6.1.0-<abi>-<flavor>).
function listing(count: number, sourceCount: number): BenchSource[] {
  return Array.from({ length: sourceCount }, (_, source) => {
    const release = sourceCount === 1 ? "12" : `b${String(source).padStart(3, "0")}`;
    const inSource = Math.floor(count / sourceCount) + (source < count % sourceCount ? 1 : 0);
    const kernels = Array.from({ length: inSource }, (_, index): Listed => {
      const flavor = flavors[index % flavors.length]!;
      const abi = Math.floor(index / flavors.length) + 1;
      const kernel = `6.1.0-${abi}-${flavor}`;
      const name = `linux-image-${kernel}-dbg`;
      const version = `6.1.${abi}-1`;
      return {
        key: { distro: "debian", release, arch: "x86_64", kernel },
        flavor,
        package: {
          name,
          version,
          source: "linux",
          filename: `pool/main/l/linux/${name}_${version}_amd64.deb`,
          size: 280_000_000 + index,
          sha256: createHash("sha256").update(`${release}/${name}`).digest("hex"),
        },
      };
    });
    return { release, suite: sourceCount === 1 ? undefined : `bench${source}`, kernels };
  });
}

// The archive a long series of runs would have left: every listed kernel converted and minified.
async function buildArchive(
  work: string,
  archive: string,
  sources: BenchSource[],
  mirrorUrl: string,
  object: string,
): Promise<void> {
  const scratch = join(work, "scratch");
  await mkdir(scratch, { recursive: true });
  const btf = await makeKernelBtf(scratch, "normal");
  const tarball = join(scratch, "kernel.btf.tar.xz");
  await writeBtfTarball(btf, "kernel.btf", tarball);
  const tarballDigest = await digestFile(tarball);
  const sets = await loadObjectSets({ net: [{ path: object }] }, archive);
  const spec = await loadBtf(btf);
  const dir = join(scratch, "minify");
  await mkdir(dir);
  // Minified files are stored by content, so every kernel with this BTF shares them, as in a real archive.
  const minified = await minifySets(btf, spec, sets, { archiveRoot: archive, scratch: dir, kernel: "template" });
  const btfDigest = await digestFile(btf);
  const manifest = emptyManifest();
  const now = new Date().toISOString();
  manifest.updatedAt = now;
  const limit = pLimit(16);
  const kernels = sources.flatMap((source) => source.kernels);
  for (const source of sources) {
    manifest.sources[`debian/${source.release}/x86_64`] = { status: "ok", refreshedAt: now, checkedAt: now };
    await mkdir(join(archive, "debian", source.release, "x86_64"), { recursive: true });
  }
  const stored = join(archive, "template.btf.tar.xz");
  await copyFile(tarball, stored);
  await Promise.all(
    kernels.map(({ key, flavor, package: listed }) =>
      limit(async () => {
        const path = archiveTarballPath(key);
        await symlink(stored, join(archive, path));
        manifest.kernels[keyPath(key)] = doneEntry(
          { key, flavor, listed, origin: "bookworm", path },
          { mirrorUrl, btf: btfDigest, tarball: tarballDigest, minified, updatedAt: now },
        );
      }),
    ),
  );
  await writeManifest(archive, manifest);
  await rm(scratch, { recursive: true, force: true });
}

// Two shard outputs of one source each, as `run --distro --release --arch` leaves them, that
// converted their source's kernels again (a later updatedAt, their own tarballs): a merge into the
// archive keeps their entries, copies their files and rewrites those two parts; the next merge
// finds the archive already holding them. Returns the shards' folders and the largest part's size.
async function buildShards(
  work: string,
  archive: string,
  shardSources: BenchSource[],
): Promise<{ shards: string[]; largestPart: number }> {
  const state = await openArchiveState(archive);
  let largestPart = 0;
  for (const id of state.sourceIds()) {
    const folder = join(archive, "state", id);
    for (const name of await readdir(folder))
      largestPart = Math.max(largestPart, (await stat(join(folder, name))).size);
  }
  const stored = join(archive, "template.btf.tar.xz");
  const later = new Date(Date.now() + 1000).toISOString();
  const shards: string[] = [];
  for (const [index, source] of shardSources.entries()) {
    const id = `debian/${source.release}/x86_64`;
    await state.load([id]);
    const shard = join(work, `shard-${index}`);
    await mkdir(join(shard, id), { recursive: true });
    const manifest = emptyManifest();
    manifest.updatedAt = later;
    manifest.sources[id] = state.manifest.sources[id]!;
    for (const entry of state.entries(id)) {
      await symlink(stored, join(shard, entry.tarball!.path));
      // Minified files are shared by every kernel with this BTF: one link each.
      for (const { file } of Object.values(entry.minified ?? {})) {
        if (file === undefined || (await pathExists(join(shard, file.path)))) continue;
        await mkdir(dirname(join(shard, file.path)), { recursive: true });
        await symlink(join(archive, file.path), join(shard, file.path));
      }
      manifest.kernels[keyPath(entry.key)] = { ...entry, updatedAt: later };
    }
    await writeManifest(shard, manifest);
    state.release(id);
    shards.push(shard);
  }
  return { shards, largestPart };
}

function requestKinds(requests: readonly ServedRequest[]): { indexes: number; packages: number; other: string[] } {
  const counts = { indexes: 0, packages: 0, other: [] as string[] };
  for (const { path } of requests) {
    if (
      /\/dists\/[^/]+\/(InRelease|Release|Release\.gpg|main\/binary-[^/]+\/(Packages(\.xz|\.gz)?|by-hash\/.*))$/.test(
        path,
      )
    )
      counts.indexes += 1;
    else if (/\.deb$/.test(path)) counts.packages += 1;
    else counts.other.push(path);
  }
  return counts;
}

async function main(args: string[]): Promise<void> {
  const count = countOption(args, "kernels", 10_000);
  const runs = countOption(args, "runs", 1);
  const sourceCount = countOption(args, "sources", 1);
  const profiles = join(repoRoot, ".bench", "profiles");
  const profile = args.includes("--cpu-prof") ? ["--cpu-prof", `--cpu-prof-dir=${profiles}`] : [];
  const work = join(repoRoot, ".bench", `incremental-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    const started = Date.now();
    const sources = listing(count, sourceCount);
    const key = await createSigningKey(await mkdirp(join(work, "keys")));
    const mirror = await buildAptMirror(join(work, "mirror"), {
      arch: "amd64",
      key,
      suites: sourceCount === 1 ? { bookworm: [], "bookworm-updates": [], "bookworm-security": [] } : {},
    });
    for (const source of sources) {
      // gpg's agent now and then drops a connection when hundreds of suites are signed in a row
      // ("No agent running", "Incomplete line passed to IPC"): a suite is signed again, up to 3 times.
      for (let attempt = 1; ; attempt++) {
        try {
          await writeListedSuite(
            mirror,
            source.suite ?? "bookworm",
            source.kernels.map((kernel) => kernel.package),
          );
          break;
        } catch (error) {
          if (attempt === 3) throw error;
        }
      }
    }
    const server = await startStaticServer(mirror.root);
    try {
      const archive = join(work, "archive");
      const object = await makeCoreObject(await mkdirp(join(work, "objects")), "tcprtt");
      await buildArchive(work, archive, sources, server.url, object);
      const shardSources = sources.length === 1 ? [sources[0]!, sources[0]!] : sources.slice(0, 2);
      const { shards, largestPart } = await buildShards(work, archive, shardSources);
      const configPath = join(work, "btfmill.json");
      const configured = sources.map((source) => ({
        distro: "debian",
        release: source.release,
        arch: "x86_64",
        mirror: server.url,
        keyring: mirror.keyring,
        ...(source.suite === undefined ? {} : { suites: [source.suite] }),
      }));
      await writeFile(
        configPath,
        JSON.stringify({ archive, sources: configured, objects: { net: [object] } }, null, 2),
      );
      console.log(
        `${count} kernels in ${sourceCount} source(s) listed and archived in ${((Date.now() - started) / 1000).toFixed(1)} s; largest state part ${(largestPart / 1e6).toFixed(1)} MB; ${runs} run(s); load average ${load()}`,
      );
      // Shard-style: one source of the many, as a CI job given `--distro --release --arch` runs it.
      const one = sources[0]!;
      const oneSource = ["--distro", "debian", "--release", one.release, "--arch", "x86_64"];
      const settledNote = " (settled: indexes unchanged since its last full read)";
      const planLines = (row: Measurement, wanted: BenchSource[], settled: boolean) =>
        expectEqual(
          "plan lines",
          row.stdout.trim(),
          wanted.map((source) => `source debian/${source.release}/x86_64: ok${settled ? settledNote : ""}`).join("\n"),
        );
      // Every suite signed again, its Packages the same: as when a mirror refreshes Valid-Until.
      const resignAll = async () => {
        for (const source of sources) {
          for (let attempt = 1; ; attempt++) {
            try {
              await resignSuite(mirror, source.suite ?? "bookworm", key);
              break;
            } catch (error) {
              if (attempt === 3) throw error;
            }
          }
        }
      };
      const runChecks = (row: Measurement, kernels: number) => {
        const summary = JSON.parse(row.stdout) as { unchanged: number; processed: number; minified: number };
        expectEqual("run: unchanged", summary.unchanged, kernels);
        expectEqual("run: processed + minified", summary.processed + summary.minified, 0);
      };
      // Targets in seconds and MB of the btfmill process (node): all sources, then one source of many.
      const allTarget = sourceCount === 1 ? { seconds: 3 } : { seconds: 5, megabytes: 300 };
      const oneTarget = { seconds: 1, megabytes: 150 };
      // Merge holds one source's part of the archive and of each shard at a time.
      const mergeTarget = sourceCount === 1 ? undefined : allTarget;

      const candidates: Array<{
        label: string;
        argv: string[];
        check: (row: Measurement) => void;
        target?: { seconds: number; megabytes?: number };
        /** Done before the command, outside its measurement. */
        before?: () => Promise<void>;
      }> = [
        { label: "baseline: btfmill --help (start-up)", argv: [node, cli, "--help"], check: () => {} },
        {
          label: "baseline: read + verify the indexes alone",
          argv: [node, self, "--worker", "discover", configPath],
          check: (row) =>
            expectEqual("packages discovered", (JSON.parse(row.stdout) as { packages: number }).packages, count),
        },
        {
          label: "baseline: read the archive manifest alone",
          argv: [node, self, "--worker", "manifest", configPath],
          check: (row) =>
            expectEqual("kernels in the manifest", (JSON.parse(row.stdout) as { kernels: number }).kernels, count),
        },
        {
          // Every source read in full, as when each suite's indexes changed; the run settles every source.
          label: "btfmill run, all read in full (--recheck)",
          argv: [node, ...profile, cli, "run", "--config", configPath, "--json", "--recheck"],
          check: (row) => runChecks(row, count),
          target: allTarget,
        },
        {
          label: "btfmill plan, all read in full (--recheck)",
          argv: [node, ...profile, cli, "plan", "--config", configPath, "--recheck"],
          // plan prints its sources, then one line per kernel with something to do: none.
          check: (row) => planLines(row, sources, false),
          target: allTarget,
        },
        {
          // Each suite's InRelease changed, its Packages the same: verified (gpgv), no index or part read.
          label: "btfmill plan, every suite signed again",
          argv: [node, ...profile, cli, "plan", "--config", configPath],
          check: (row) => planLines(row, sources, true),
          target: allTarget,
          before: resignAll,
        },
        {
          // The same signed bytes the plan saw; the run records their key.
          label: "btfmill run, every suite signed again",
          argv: [node, ...profile, cli, "run", "--config", configPath, "--json"],
          check: (row) => runChecks(row, count),
          target: allTarget,
        },
        {
          // The run before left every source settled: InRelease alone is fetched, no index or part read.
          label: "btfmill plan, nothing changed",
          argv: [node, ...profile, cli, "plan", "--config", configPath],
          check: (row) => planLines(row, sources, true),
          target: allTarget,
        },
        {
          label: "btfmill run, nothing changed",
          argv: [node, ...profile, cli, "run", "--config", configPath, "--json"],
          check: (row) => runChecks(row, count),
          target: allTarget,
        },
        ...(sourceCount === 1
          ? []
          : [
              {
                label: "btfmill plan, one source, nothing changed",
                argv: [node, ...profile, cli, "plan", "--config", configPath, ...oneSource],
                check: (row: Measurement) => planLines(row, [one], true),
                target: oneTarget,
              },
              {
                label: "btfmill run, one source, nothing changed",
                argv: [node, ...profile, cli, "run", "--config", configPath, "--json", ...oneSource],
                check: (row: Measurement) => runChecks(row, one.kernels.length),
                target: oneTarget,
              },
              {
                label: "btfmill plan, one source, --recheck (read in full)",
                argv: [node, ...profile, cli, "plan", "--config", configPath, "--recheck", ...oneSource],
                check: (row: Measurement) => planLines(row, [one], false),
                target: oneTarget,
              },
              {
                label: "btfmill run, one source, --recheck (read in full)",
                argv: [node, ...profile, cli, "run", "--config", configPath, "--json", "--recheck", ...oneSource],
                check: (row: Measurement) => runChecks(row, one.kernels.length),
                target: oneTarget,
              },
            ]),
        {
          // Every source's part of the archive passes through, one at a time: memory follows a part.
          label: "btfmill merge, two one-source shards into the archive",
          argv: [node, ...profile, cli, "merge", ...shards, "--out", archive, "--json"],
          check: (row) => {
            const summary = JSON.parse(row.stdout) as { kernels: number; conflicts: unknown[] };
            expectEqual("merge: kernels", summary.kernels, count);
            expectEqual(
              "merge: kernels in several inputs",
              summary.conflicts.length,
              sourceCount === 1 ? count : shardSources[0]!.kernels.length + shardSources[1]!.kernels.length,
            );
          },
          target: mergeTarget,
        },
      ];
      const results = candidates.map((): Measurement[] => []);
      const served = candidates.map((): ReturnType<typeof requestKinds>[] => []);
      // Candidates take turns, so a busy moment on a shared machine hits all of them alike.
      for (let run = 0; run < runs; run++) {
        for (const [index, candidate] of candidates.entries()) {
          await candidate.before?.();
          const before = server.requests.length;
          const row = await measureCommand(candidate.label, candidate.argv);
          candidate.check(row);
          results[index]!.push(row);
          served[index]!.push(requestKinds(server.requests.slice(before)));
        }
      }
      const rows = results.map((measured) => median(measured));
      console.log(`\n${formatMeasurements(rows)}\n`);
      const [startup, indexes, manifestRead] = rows;
      const cpu = (row: Measurement) => row.userSeconds + row.systemSeconds;
      const table = [
        [
          "",
          "wall",
          "/ start-up",
          "/ indexes alone",
          "/ (indexes + manifest)",
          "CPU",
          "CPU / (indexes + manifest)",
          "index requests",
          ".deb requests",
          "target",
        ],
        ...rows.map((row, index) => {
          const requests = served[index]!.at(-1)!;
          const { target } = candidates[index]!;
          const nodeMegabytes = (row.peakRssByCommand.node ?? row.maxRssBytes) / 1e6;
          if (requests.other.length > 0) throw new Error(`${row.label} asked for ${requests.other.join(", ")}`);
          if (requests.packages > 0) throw new Error(`${row.label} downloaded ${requests.packages} package(s)`);
          return [
            row.label,
            `${row.wallSeconds.toFixed(2)} s`,
            `${(row.wallSeconds / startup!.wallSeconds).toFixed(2)}x`,
            `${(row.wallSeconds / indexes!.wallSeconds).toFixed(2)}x`,
            `${(row.wallSeconds / (indexes!.wallSeconds + manifestRead!.wallSeconds - startup!.wallSeconds)).toFixed(2)}x`,
            `${cpu(row).toFixed(2)} s`,
            `${(cpu(row) / (cpu(indexes!) + cpu(manifestRead!) - cpu(startup!))).toFixed(2)}x`,
            String(requests.indexes),
            String(requests.packages),
            target === undefined
              ? ""
              : [
                  `< ${target.seconds} s${target.megabytes === undefined ? "" : `, node < ${target.megabytes} MB (${nodeMegabytes.toFixed(0)})`}: `,
                  row.wallSeconds < target.seconds && nodeMegabytes < (target.megabytes ?? Number.POSITIVE_INFINITY)
                    ? "met"
                    : "MISSED",
                ].join(""),
          ];
        }),
      ];
      console.log(formatTable(table));
      console.log(
        `\n(the last column divides by indexes + manifest - start-up: both baselines include one start of node; load average now ${load()})`,
      );
    } finally {
      await server.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function expectEqual<T>(what: string, actual: T, expected: T): void {
  if (actual !== expected) throw new Error(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

async function mkdirp(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}

const [flag, name, ...rest] = process.argv.slice(2);
if (flag === "--worker") {
  // As bin/btfmill.js does, so the baselines start the way the commands they are compared with do.
  module.enableCompileCache();
  const worker = workers[name!];
  if (worker === undefined) throw new Error(`unknown worker ${name}`);
  console.log(JSON.stringify(await worker(rest)));
} else {
  await main(process.argv.slice(2));
}
