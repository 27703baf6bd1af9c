// Benchmark (kernelsWithBtf "own"): what taking a vmlinux's own .BTF costs, against converting it
// with pahole, on a vmlinux already on disk; each is validated as a run validates it. Run each
// mode under GNU time, which counts pahole's and bpftool's CPU with node's:
//
//   /usr/bin/time -f "%e s wall, %U+%S s CPU, %M KB" node test/bench/own-btf.ts own|pahole VMLINUX
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { chooseFlags, kernelVersionOf } from "../../pipeline/pahole-flags.ts";
import { copyOwnBtf } from "../../pipeline/stages/own-btf.ts";
import { validateBtf } from "../../pipeline/stages/validate.ts";
import { runPahole } from "../../pipeline/tools/pahole.ts";
import { benchPahole } from "./pinned-pahole.ts";

const [mode, vmlinux] = process.argv.slice(2);
if ((mode !== "own" && mode !== "pahole") || vmlinux === undefined)
  throw new Error("usage: node test/bench/own-btf.ts own|pahole VMLINUX");
const release = basename(vmlinux).replace(/^vmlinux-/, "");
const kernel = `bench/${release}`;
const dir = await mkdtemp(join(tmpdir(), "btfmill-own-"));
try {
  const btf = join(dir, "vmlinux.btf");
  const pahole = await benchPahole();
  if (mode === "own") {
    await copyOwnBtf(vmlinux, btf);
    await validateBtf(btf, { kernel, kernelRelease: release, own: true });
  } else {
    // Single-threaded, so the CPU compares whatever the machine's load.
    await runPahole(vmlinux, btf, chooseFlags(pahole.version, kernelVersionOf(release)!), { kernel });
    await validateBtf(btf, { kernel, kernelRelease: release, vmlinux });
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
