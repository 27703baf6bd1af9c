// The minify stage minifies a set from the output of a larger set of the same kernel (the union
// `all` holds every object) instead of from the full BTF. That is only right if bpftool makes
// the same bytes either way: checked here with the real bpftool on the machine's own kernel BTF
// and on the fixture kernels whose CO-RE candidates are renamed, missing, moved or ambiguous,
// for every subset of the fixture objects.
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBtf } from "../../../archive/btf/index.ts";
import { sha256Hex } from "../../../archive/file-digest.ts";
import { loadObjectSets } from "../../../pipeline/object-registry.ts";
import { minifySets } from "../../../pipeline/stages/minify.ts";
import { stopSpawner } from "../../../pipeline/tools/spawner.ts";
import { ciliumChecker, runCiliumCheck } from "../../helpers/cilium-check.ts";
import { hostHasKernelBtf, hostKernelBtf } from "../../helpers/host-kernel-btf.ts";
import { bpfFixtures, makeCoreObject, makeKernelBtf, type KernelVariant } from "../../fixtures/bpf-objects.ts";

const minify = (input: string, output: string, objects: string[]) =>
  execa("bpftool", ["gen", "min_core_btf", input, output, ...objects]);

function subsets<T>(items: readonly T[]): T[][] {
  const all: T[][] = [];
  for (let mask = 1; mask < 1 << items.length; mask++) all.push(items.filter((_, bit) => (mask >> bit) & 1));
  return all;
}

describe("minifying a set from the union's output", () => {
  let work: string;
  let objects: string[];
  const kernels: Record<string, string> = {};

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-derived-"));
    objects = await Promise.all(bpfFixtures.map((name) => makeCoreObject(work, name)));
    if (hostHasKernelBtf) kernels[hostKernelBtf] = hostKernelBtf;
    const variants: KernelVariant[] = ["normal", "renamed", "missing", "moved", "ambiguous"];
    for (const variant of variants) kernels[variant] = await makeKernelBtf(work, variant);
  });

  afterAll(async () => {
    await stopSpawner();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("gives bpftool's bytes from the full BTF for every subset of the objects, on every kernel", async () => {
    let compared = 0;
    for (const [name, full] of Object.entries(kernels)) {
      const dir = join(work, name.replaceAll("/", "_"));
      await mkdir(dir);
      const union = join(dir, "union.btf");
      const unionRun = await minify(full, union, objects).then(
        () => true,
        () => false,
      );
      // A kernel bpftool refuses for the union (the ambiguous fixture) is recorded as a failure
      // of every set containing the bad object; nothing is derived from it.
      if (!unionRun) continue;
      for (const [index, subset] of subsets(objects).entries()) {
        const direct = join(dir, `${index}.direct.btf`);
        const derived = join(dir, `${index}.derived.btf`);
        await minify(full, direct, subset);
        await minify(union, derived, subset);
        expect((await readFile(derived)).equals(await readFile(direct)), `${name}: ${subset.join(" ")}`).toBe(true);
        compared++;
      }
    }
    // The machine's kernel (when it has BTF) and at least three fixture kernels, 15 subsets each.
    expect(compared).toBeGreaterThanOrEqual((hostHasKernelBtf ? 4 : 3) * 15);
  });

  it.skipIf(!hostHasKernelBtf)(
    "minifySets stores for each set the bytes bpftool makes from the full BTF, reading the full BTF once",
    async () => {
      const full = hostKernelBtf;
      const sets = await loadObjectSets(
        {
          net: [{ path: objects[0]! }, { path: objects[1]! }],
          proc: [{ path: objects[2]! }, { path: objects[3]! }],
          one: [{ path: objects[2]! }],
        },
        join(work, "archive"),
      );
      // A bpftool that notes which input each run reads: the spawner passes PATH on to its tools.
      const bin = join(work, "bin");
      await mkdir(bin);
      const log = join(work, "inputs.log");
      const realBpftool = (await execa("sh", ["-c", "command -v bpftool"])).stdout;
      await writeFile(join(bin, "bpftool"), `#!/bin/sh\necho "$3" >> ${log}\nexec ${realBpftool} "$@"\n`);
      await chmod(join(bin, "bpftool"), 0o755);
      const path = process.env.PATH;
      process.env.PATH = `${bin}:${path}`;
      const scratch = join(work, "scratch");
      await mkdir(scratch);
      let records;
      try {
        records = await minifySets(full, openBtf(await readFile(full)), sets, {
          archiveRoot: join(work, "archive"),
          scratch,
          kernel: "machine",
        });
      } finally {
        await stopSpawner();
        process.env.PATH = path;
      }
      expect(Object.keys(records)).toEqual(sets.map((set) => set.name));
      for (const set of sets) {
        const direct = join(work, `direct-${set.name}.btf`);
        await minify(
          full,
          direct,
          set.objects.map((object) => object.path),
        );
        const record = records[set.name]!;
        expect(record.error).toBeUndefined();
        expect(record.file!.sha256).toBe(sha256Hex(await readFile(direct)));
        // Every record's coverage is still computed against the full kernel BTF.
        expect(record.coverage.map((object) => object.sha256)).toEqual(set.objects.map((object) => object.sha256));
      }
      // And a loader agrees: cilium/ebpf's fixups on each stored file equal those on the full BTF.
      const checker = await ciliumChecker();
      if ("binary" in checker) {
        for (const set of sets) {
          const stored = join(work, "archive", records[set.name]!.file!.path);
          const report = await runCiliumCheck(
            checker.binary,
            full,
            stored,
            set.objects.map((object) => object.path),
          );
          expect([set.name, report.exitCode, report.differences]).toEqual([set.name, 0, []]);
        }
      }
      const inputs = (await readFile(log, "utf8")).trim().split("\n");
      expect(inputs.filter((input) => input === full)).toHaveLength(1);
    },
  );
});
