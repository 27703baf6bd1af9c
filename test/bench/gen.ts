// Benchmark (issue 17): `btfmill gen` for N kernels x 3 objects from a local BTFHub-layout folder,
// against the loop Tracee's btfgen script runs over a btfhub-archive clone: per kernel `tar -xJf`,
// then `bpftool gen min_core_btf`, one after the other. Then `gen` again with nothing new.
//
//   node test/bench/gen.ts [--kernels=N] [--btf=FILE]
//
// The folder: N kernels (default 1000) under <distro>/<release>/x86_64/<kernel>.btf.tar.xz, each a
// hard link to one tarball of this machine's /sys/kernel/btf/vmlinux (full size: xz decoding and
// bpftool grow with the BTF), written once with `xz -6` and cached in .bench/gen-cache. The
// objects: test/fixtures/bpf tcprtt, kprobe and flavors (all resolve on a 6.x kernel, so gen exits 0). After the runs the bench checks that gen
// wrote the loop's bytes for every kernel.
import { existsSync } from "node:fs";
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { makeCoreObject } from "../fixtures/bpf-objects.ts";
import { countOption, formatMeasurements, measureCommand } from "./measure.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(repoRoot, "bin", "btfmill.js");
const args = process.argv.slice(2);
const kernels = countOption(args, "kernels", 1000);
const btf = args.find((arg) => arg.startsWith("--btf="))?.slice(6) ?? "/sys/kernel/btf/vmlinux";
const bench = join(repoRoot, ".bench", "gen");
const cacheDir = join(repoRoot, ".bench", "gen-cache");

await rm(bench, { recursive: true, force: true });
await mkdir(cacheDir, { recursive: true });
const tarball = join(cacheDir, "vmlinux.btf.tar.xz");
if (!existsSync(tarball)) {
  await writeFile(join(cacheDir, "vmlinux.btf"), await readFile(btf));
  await execa("tar", ["-cJf", tarball, "-C", cacheDir, "vmlinux.btf"]);
  await rm(join(cacheDir, "vmlinux.btf"));
}
const folder = join(bench, "btfhub-archive");
const names: string[] = [];
for (let i = 0; i < kernels; i++) {
  const path = `ubuntu/r${Math.floor(i / 100)}/x86_64/5.15.0-${i}-generic`;
  names.push(path);
  await mkdir(join(folder, path, ".."), { recursive: true });
  await link(tarball, join(folder, `${path}.btf.tar.xz`));
}
const objects = await Promise.all(
  (["tcprtt", "kprobe", "flavors"] as const).map((name) => makeCoreObject(bench, name)),
);

// Tracee's loop, as a shell script so it runs as one process tree.
const loopOut = join(bench, "loop-out");
const script = join(bench, "loop.sh");
await writeFile(
  script,
  `set -e\ncd ${folder}\nfor f in $(find . -name '*.btf.tar.xz' | sort); do\n  d=${bench}/loop-tmp; mkdir -p $d ${loopOut}/$(dirname $f)\n  tar -xJf $f -C $d\n  bpftool gen min_core_btf $d/vmlinux.btf ${loopOut}/\${f%.tar.xz} ${objects.join(" ")}\n  rm -rf $d\ndone\n`,
);
const loop = await measureCommand("tar -xJf + bpftool per kernel (Tracee's loop)", ["bash", script]);
const genArgs = [
  process.execPath,
  cli,
  "gen",
  "--objects",
  ...objects,
  "--from",
  folder,
  "--out",
  join(bench, "gen-out"),
  "--cache",
  join(bench, "cache"),
];
const first = await measureCommand("btfmill gen", genArgs);
const second = await measureCommand("btfmill gen, nothing new", genArgs);

let differing = 0;
for (const name of names) {
  const ours = await readFile(join(bench, "gen-out", `${name}.btf`));
  if (!ours.equals(await readFile(join(loopOut, `${name}.btf`)))) differing++;
}
console.log(formatMeasurements([loop, first, second]));
console.log(
  `${kernels} kernels x 3 objects: gen / loop = ${(first.wallSeconds / loop.wallSeconds).toFixed(2)}; second run ${second.wallSeconds.toFixed(2)} s; ${differing} file(s) differ from the loop's`,
);
if (differing > 0) process.exitCode = 1;
