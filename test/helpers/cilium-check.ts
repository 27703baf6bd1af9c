// A real consumer of minified BTF: test/consumers/cilium-check, built once per test run (cached by
// the sha256 of its source and of the packages it builds from) with Debian 12's Go against
// cilium/ebpf 0.11.0 from Debian 13 (0.9.1 in Debian 12 cannot read ENUM64). Go runs in GOPATH
// mode on the unpacked /usr/share/gocode, with GOPROXY=off: no module download.
import { mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { mergeSplitBtf } from "../../archive/btf/index.ts";
import { sha256Hex } from "../../archive/file-digest.ts";
import type { Manifest } from "../../archive/manifest.ts";
import { unpackTrixiePackages } from "./trixie-packages.ts";

/** golang-github-cilium-ebpf-dev and its Depends in trixie. */
export const ciliumPackages = [
  "golang-github-cilium-ebpf-dev",
  "golang-golang-x-exp-dev",
  "golang-golang-x-sys-dev",
] as const;

const source = fileURLToPath(new URL("../consumers/cilium-check/main.go", import.meta.url));

export type GoBuild = { binary: string } | { skip: string };

export interface CiliumReport {
  objects: number;
  programs: number;
  relocations: number;
  /** One line per relocation whose fixup differs, naming object, program and relocation. */
  differences: string[];
  exitCode: number;
}

let built: Promise<GoBuild> | undefined;

/** When a test checks minified BTF: the checker's path, or why it cannot be built on this machine. */
export function ciliumChecker(): Promise<GoBuild> {
  built ??= buildChecker();
  return built;
}

/** When a minified file is checked: cilium/ebpf's fixups of `objects` on `full` and on `minified` compared. */
export async function runCiliumCheck(
  binary: string,
  full: string,
  minified: string,
  objects: readonly string[],
): Promise<CiliumReport> {
  const result = await execa(binary, ["-full", full, "-min", minified, ...objects], { reject: false });
  if (result.exitCode !== 0 && result.exitCode !== 1)
    throw new Error(`cilium-check exited ${result.exitCode}: ${result.stderr}`);
  return { ...(JSON.parse(result.stdout) as Omit<CiliumReport, "exitCode">), exitCode: result.exitCode };
}

/** Where cilium/ebpf and its dependencies were unpacked, and the toolchain that builds against them. */
export type CiliumGo = { gopath: string; goVersion: string; packages: string[] } | { skip: string };

let unpacked: Promise<CiliumGo> | undefined;

/** When a test builds Go against cilium/ebpf: the GOPATH holding it, or why there is none here. */
export function ciliumGo(): Promise<CiliumGo> {
  unpacked ??= (async () => {
    const go = await execa("go", ["version"], { reject: false });
    if (go.exitCode !== 0) return { skip: "no Go toolchain: install golang-go (make setup-apt)" };
    const trixie = await unpackTrixiePackages(ciliumPackages);
    if ("skip" in trixie) return trixie;
    return {
      gopath: join(trixie.root, "usr/share/gocode"),
      goVersion: go.stdout,
      packages: trixie.packages.map((record) => record.sha256),
    };
  })();
  return unpacked;
}

/** When a Go program is built for a test: GOPATH mode over `gopaths` (first wins), no module proxy. */
export async function goBuild(main: string, out: string, gopaths: readonly string[]): Promise<void> {
  await execa("go", ["build", "-o", out, main], {
    env: {
      GOPATH: gopaths.join(":"),
      GO111MODULE: "off",
      GOPROXY: "off",
      GOFLAGS: "",
      GOCACHE: join(tmpdir(), "btfmill-cilium-check", "go-cache"),
    },
  });
}

async function buildChecker(): Promise<GoBuild> {
  return buildGoConsumer(source, "cilium-check");
}

/** When a test runs a Go consumer of test/consumers/: built against cilium/ebpf, cached by the sha256 of its source and inputs. */
export async function buildGoConsumer(main: string, name: string): Promise<GoBuild> {
  const go = await ciliumGo();
  if ("skip" in go) return go;
  const key = sha256Hex([await readFile(main, "utf8"), go.goVersion, ...go.packages].join("\n"));
  const binary = join(tmpdir(), "btfmill-cilium-check", `${name}-${key.slice(0, 16)}`);
  if (
    await stat(binary).then(
      () => true,
      () => false,
    )
  )
    return { binary };
  const partial = `${binary}.${process.pid}`;
  await goBuild(main, partial, [go.gopath]);
  await rename(partial, binary).catch(async (error) => {
    await rm(partial, { force: true });
    throw error;
  });
  return { binary };
}

/**
 * When a pipeline test has minified: every minified file the manifest names, checked against its
 * kernel's full BTF (from the stored tarball; with the modules the record says were merged, merged
 * the same way from the stored modules tarball) with the objects its coverage lists. Returns how
 * many files were checked and each report that is not clean.
 */
export async function checkArchiveMinified(
  binary: string,
  archiveRoot: string,
  manifest: Manifest,
  objectPath: (name: string) => string,
): Promise<{ files: number; failures: string[] }> {
  const scratch = await mkdtemp(join(tmpdir(), "btfmill-cilium-full-"));
  const failures: string[] = [];
  let files = 0;
  try {
    for (const [key, entry] of Object.entries(manifest.kernels)) {
      if (entry.tarball === undefined || entry.minified === undefined) continue;
      const full = join(scratch, `${entry.key.kernel}.btf`);
      const { stdout } = await execa("tar", ["-xJOf", join(archiveRoot, entry.tarball.path)], { encoding: "buffer" });
      await writeFile(full, stdout);
      for (const [set, record] of Object.entries(entry.minified)) {
        if (record.file === undefined) continue;
        const objects = record.coverage.map((object) => objectPath(object.object));
        const merged = record.modules?.merged ?? [];
        let against = full;
        if (merged.length > 0) {
          against = join(scratch, `${entry.key.kernel}.${merged.join("+")}.btf`);
          const splits = await Promise.all(
            merged.map(async (name) => {
              const member = await execa(
                "tar",
                ["-xJOf", join(archiveRoot, entry.modules!.tarball!.path), `${name}.btf`],
                {
                  encoding: "buffer",
                },
              );
              return { name, bytes: member.stdout };
            }),
          );
          await writeFile(against, mergeSplitBtf(stdout, splits).bytes);
        }
        const report = await runCiliumCheck(binary, against, join(archiveRoot, record.file.path), objects);
        files++;
        if (report.exitCode !== 0 || report.relocations === 0)
          failures.push(`${key} set ${set}: ${JSON.stringify(report)}`);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { files, failures };
}
