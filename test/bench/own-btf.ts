// Benchmark (kernelsWithBtf "own"): what taking a vmlinux's own .BTF costs, against converting it
// with pahole, on a vmlinux already on disk; each is validated as a run validates it. Run each
// mode under GNU time, which counts pahole's, xz's and bpftool's CPU with node's:
//
//   /usr/bin/time -f "%e s wall, %U+%S s CPU, %M KB" node test/bench/own-btf.ts own|pahole VMLINUX
//
// And the whole kernel from its package, served from a file on 127.0.0.1 (so the mirror's speed
// is not measured): `whole` decodes to the vmlinux's end and takes `.BTF` from it, `early` is a
// run's path for a kernel after its flavor's first in "own" mode (produceBtf), which stops decoding
// at the end of `.BTF` when System.map places it. Both print the sha256 of the BTF they publish.
//
//   /usr/bin/time -f "%e s wall, %U+%S s CPU, %M KB" node test/bench/own-btf.ts whole|early DEB SHA256
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { btfMemberName } from "../../archive/layout.ts";
import type { KernelPackage } from "../../distros/types.ts";
import { chooseFlags, kernelVersionOf } from "../../pipeline/pahole-flags.ts";
import { produceBtf } from "../../pipeline/process-kernel.ts";
import { fetchVmlinux } from "../../pipeline/stages/fetch.ts";
import type { FetchedVmlinux } from "../../pipeline/stages/fetch.ts";
import { copyOwnBtf } from "../../pipeline/stages/own-btf.ts";
import { validateBtf } from "../../pipeline/stages/validate.ts";
import { runPahole } from "../../pipeline/tools/pahole.ts";
import { startStaticServer } from "../helpers/static-server.ts";
import { benchPahole } from "./pinned-pahole.ts";

const [mode, input, sha256] = process.argv.slice(2);
const usage = "usage: node test/bench/own-btf.ts own|pahole VMLINUX, or whole|early DEB SHA256";
if (!["own", "pahole", "whole", "early"].includes(mode ?? "") || input === undefined) throw new Error(usage);
const dir = await mkdtemp(join(tmpdir(), "btfmill-own-"));
try {
  const btf = join(dir, "vmlinux.btf");
  if (mode === "whole" || mode === "early") {
    if (sha256 === undefined) throw new Error(usage);
    // linux-image-6.12.118+deb12-cloud-amd64-dbg_6.12.118-1~deb12u1_amd64.deb -> 6.12.118+deb12-cloud-amd64
    const release = basename(input)
      .replace(/^linux-image-/, "")
      .replace(/-dbg_.*$/, "");
    const kernel = `bench/${release}`;
    const server = await startStaticServer(dirname(input));
    try {
      const pkg: KernelPackage = {
        key: { distro: "debian", release: "12", arch: "x86_64", kernel: release },
        flavor: "cloud-amd64",
        name: `linux-image-${release}-dbg`,
        version: "bench",
        url: `${server.url}/${encodeURIComponent(basename(input))}`,
        sha256,
        size: (await stat(input)).size,
        format: "deb",
        vmlinuxPath: `usr/lib/debug/boot/vmlinux-${release}`,
        origin: "bench",
      };
      let fetched: FetchedVmlinux<unknown>;
      if (mode === "early") {
        // A run's own path for a kernel after its flavor's first (pipeline/process-kernel.ts).
        const pahole = (await benchPahole()).version;
        ({ fetched } = await produceBtf(pkg, dir, { pahole, paholeConfig: {}, onStage: () => {}, ownBtf: true }));
        await rename(join(dir, btfMemberName(pkg.key)), btf);
      } else {
        // What that path did before it could stop early: the whole vmlinux, then its .BTF.
        const vmlinux = join(dir, "vmlinux");
        fetched = await fetchVmlinux(pkg, vmlinux);
        if (!(await copyOwnBtf(vmlinux, btf))) throw new Error(`${input}: the vmlinux has no .BTF`);
        await validateBtf(btf, { kernel, kernelRelease: release, own: true });
      }
      const digest = createHash("sha256")
        .update(await readFile(btf))
        .digest("hex");
      console.log(`${mode}: btfOnly ${fetched.btfOnly}, decoded ${fetched.payloadBytes} bytes, BTF sha256 ${digest}`);
    } finally {
      await server.close();
    }
  } else {
    const release = basename(input).replace(/^vmlinux-/, "");
    const kernel = `bench/${release}`;
    const pahole = await benchPahole();
    if (mode === "own") {
      await copyOwnBtf(input, btf);
      await validateBtf(btf, { kernel, kernelRelease: release, own: true });
    } else {
      // Single-threaded, so the CPU compares whatever the machine's load.
      await runPahole(input, btf, chooseFlags(pahole.version, kernelVersionOf(release)!), { kernel });
      await validateBtf(btf, { kernel, kernelRelease: release, vmlinux: input });
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
