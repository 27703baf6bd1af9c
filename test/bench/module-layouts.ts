// What reading a kernel's modules' layouts costs, the way validation did it before and does now,
// on a kernel already in an archive with its modules (`"modules": "all"`):
//   joined: each module joined to the kernel's BTF and the whole surveyed (the base decoded again per module)
//   split:  the kernel's BTF surveyed once, each module's split BTF read against it
// Both sides of validation do this (ours, and the kernel's own .BTF with the module's own), so a
// module's validation saved twice the difference. Prints seconds and the layouts found by each.
//
//   node test/bench/module-layouts.ts --archive DIR --kernel debian/12/x86_64/6.12.95+deb12-cloud-amd64
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { joinSplitBtf, surveyBtf } from "../../archive/btf/index.ts";
import { readManifest } from "../../archive/state.ts";
import { surveyBase, surveySplit } from "../../pipeline/stages/module-layouts.ts";

const { values } = parseArgs({ options: { archive: { type: "string" }, kernel: { type: "string" } } });
if (values.archive === undefined || values.kernel === undefined) throw new Error("need --archive DIR --kernel KEY");
const entry = (await readManifest(values.archive)).kernels[values.kernel]!;
const scratch = await mkdtemp(join(tmpdir(), "btfmill-module-layouts-"));
try {
  await execa("tar", ["-xJf", join(values.archive, entry.tarball!.path), "-C", scratch]);
  await execa("tar", ["-xJf", join(values.archive, entry.modules!.tarball!.path), "-C", scratch]);
  const base = await readFile(join(scratch, `${entry.key.kernel}.btf`));
  const names = (await readdir(scratch)).filter((name) => name !== `${entry.key.kernel}.btf`).sort();
  const modules = await Promise.all(names.map((name) => readFile(join(scratch, name))));

  let joinedNames = 0;
  const joined = measure(() => {
    for (const split of modules) joinedNames += surveyBtf(joinSplitBtf(base, split), { layouts: true }).layouts!.size;
  });
  let splitNames = 0;
  const split = measure(() => {
    const surveyed = surveyBase(base);
    for (const module of modules) splitNames += surveySplit(module, surveyed).layouts.size;
  });
  console.log(`${values.kernel}: ${modules.length} modules; load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(`joined: ${joined} (${joinedNames} layouts read, the kernel's again each time)`);
  console.log(`split:  ${split} (${splitNames} layouts of the modules' own names, base surveyed once)`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}

// Wall and CPU seconds: on a shared machine the CPU seconds are what the work costs.
function measure(work: () => void): string {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  work();
  const used = process.cpuUsage(cpu);
  return `${((performance.now() - wall) / 1000).toFixed(1)} s wall, ${((used.user + used.system) / 1e6).toFixed(1)} s CPU`;
}
