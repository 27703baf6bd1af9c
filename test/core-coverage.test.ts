import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBtf } from "../archive/btf/lazy.ts";
import { loadBtf } from "../archive/btf/load.ts";
import type { BtfSpec } from "../archive/btf/types.ts";
import { loadBpfObject, type BpfObject } from "../archive/core/bpf-object.ts";
import { computeCoverage, type CoverageEntry } from "../archive/core/coverage.ts";
import { bpftoolUnmatched } from "../pipeline/tools/bpftool.ts";
import { bpfFixtures, makeCoreObject, makeKernelBtf, type BpfFixture, type KernelVariant } from "./fixtures/bpf-objects.ts";
import { hostHasKernelBtf, hostKernelBtf } from "./helpers/host-kernel-btf.ts";

const section = "fentry/tcp_rcv_established";
const variants = ["normal", "renamed", "missing", "moved", "ambiguous"] as const satisfies KernelVariant[];

let dir: string;
const objectPaths = new Map<BpfFixture, string>();
const objects = new Map<BpfFixture, BpfObject>();
const kernelPaths = new Map<KernelVariant, string>();
const kernels = new Map<KernelVariant, BtfSpec>();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-coverage-"));
  for (const fixture of bpfFixtures) {
    const path = await makeCoreObject(dir, fixture);
    objectPaths.set(fixture, path);
    objects.set(fixture, await loadBpfObject(path));
  }
  for (const variant of variants) {
    const path = await makeKernelBtf(dir, variant);
    kernelPaths.set(variant, path);
    kernels.set(variant, await loadBtf(path));
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const coverageOf = (kernel: BtfSpec, fixture: BpfFixture) => computeCoverage(kernel, { name: fixture, ...objects.get(fixture)! });
const brief = (entries: CoverageEntry[]) => entries.map((entry) => `${entry.section} #${entry.index} ${entry.kind} ${entry.name}: ${entry.why}`);

// flavors.c's relocations, in .BTF.ext order (relo #N in its one section).
const srttExists = `${section} #0 FIELD_EXISTS struct tcp_sock::srtt_us`;
const srtt = `${section} #1 FIELD_BYTE_OFFSET struct tcp_sock::srtt_us`;
const oldSrtt = `${section} #2 FIELD_BYTE_OFFSET struct tcp_sock___old::srtt: struct tcp_sock has no member srtt`;
const helperExists = `${section} #11 ENUMVAL_EXISTS enum bpf_func_id::BPF_FUNC_for_each_map_elem: enum bpf_func_id has no value BPF_FUNC_for_each_map_elem`;
const helperValue = `${section} #12 ENUMVAL_VALUE enum bpf_func_id::BPF_FUNC_for_each_map_elem: enum bpf_func_id has no value BPF_FUNC_for_each_map_elem`;
const iterExists = `${section} #13 TYPE_EXISTS struct bpf_iter_missing: kernel has no struct bpf_iter_missing`;
const noSrttUs = "struct tcp_sock has no member srtt_us";

describe("relocation coverage on fixture kernels", () => {
  it("resolves the tcprtt srtt_us read on the normal and moved kernels, and names the member on the others", () => {
    for (const variant of ["normal", "moved"] as const) {
      expect(coverageOf(kernels.get(variant)!, "tcprtt")).toEqual({ object: "tcprtt", total: 1, resolved: 1, guarded: [], unresolved: [] });
    }
    for (const variant of ["renamed", "missing"] as const) {
      expect(coverageOf(kernels.get(variant)!, "tcprtt").unresolved).toEqual([
        { section, index: 0, kind: "FIELD_BYTE_OFFSET", name: "struct tcp_sock::srtt_us", status: "missing", why: noSrttUs },
      ]);
    }
  });

  it("reports the tcp_sock___v2 kernel as ambiguous for every tcp_sock member read, as libbpf refuses it", () => {
    const kernel = kernels.get("ambiguous")!;
    expect(brief(coverageOf(kernel, "tcprtt").unresolved)).toEqual([
      `${section} #0 FIELD_BYTE_OFFSET struct tcp_sock::srtt_us: kernel [21] struct tcp_sock and [29] struct tcp_sock___v2 both match, at bit offsets 384 and 32`,
    ]);
    expect(coverageOf(kernel, "tcprtt").unresolved[0]!.status).toBe("ambiguous");
    expect(brief(coverageOf(kernel, "sockops").unresolved)).toEqual([
      "sockops #0 FIELD_BYTE_OFFSET struct tcp_sock::snd_cwnd: kernel [21] struct tcp_sock and [29] struct tcp_sock___v2 both match, at bit offsets 448 and 0",
    ]);
  });

  it("resolves the sockops nested read and the kprobe BPF_CORE_READ chain on every fixture kernel but the ambiguous one", () => {
    for (const variant of variants) {
      const kprobe = coverageOf(kernels.get(variant)!, "kprobe");
      expect([kprobe.total, kprobe.resolved, kprobe.unresolved]).toEqual([3, 3, []]);
      if (variant === "ambiguous") continue;
      expect(coverageOf(kernels.get(variant)!, "sockops")).toMatchObject({ total: 2, resolved: 2, unresolved: [] });
    }
  });

  it("lists exactly the unresolved and guarded relocations of the flavors object per kernel", () => {
    const expected: Record<(typeof variants)[number], { unresolved: string[]; guarded: string[] }> = {
      normal: { unresolved: [oldSrtt], guarded: [iterExists] },
      moved: { unresolved: [oldSrtt], guarded: [iterExists] },
      renamed: { unresolved: [`${srtt}: ${noSrttUs}`], guarded: [`${srttExists}: ${noSrttUs}`, iterExists] },
      missing: {
        unresolved: [`${srtt}: ${noSrttUs}`, oldSrtt, helperValue],
        guarded: [`${srttExists}: ${noSrttUs}`, helperExists, iterExists],
      },
      ambiguous: {
        unresolved: [
          `${srttExists}: kernel [21] struct tcp_sock and [29] struct tcp_sock___v2 both match, at bit offsets 384 and 32`,
          `${srtt}: kernel [21] struct tcp_sock and [29] struct tcp_sock___v2 both match, at bit offsets 384 and 32`,
          oldSrtt,
        ],
        guarded: [iterExists],
      },
    };
    for (const variant of variants) {
      const coverage = coverageOf(kernels.get(variant)!, "flavors");
      expect({ unresolved: brief(coverage.unresolved), guarded: brief(coverage.guarded) }, variant).toEqual(expected[variant]);
      expect(coverage.total).toBe(17);
      expect(coverage.resolved).toBe(17 - coverage.unresolved.length - coverage.guarded.length);
    }
  });

  it("agrees with bpftool -d on which relocations have no matching target, on every unambiguous fixture kernel", async () => {
    for (const variant of variants.filter((name) => name !== "ambiguous")) {
      const reported = await bpftoolUnmatched(kernelPaths.get(variant)!, [...objectPaths.values()]);
      const ours = bpfFixtures.flatMap((fixture) => {
        const coverage = coverageOf(kernels.get(variant)!, fixture);
        return [...coverage.unresolved, ...coverage.guarded].map((entry) => `${objectPaths.get(fixture)} ${entry.section} #${entry.index}`);
      });
      const theirs = reported.map((entry) => `${entry.object} ${entry.section} #${entry.index}`);
      expect(ours.sort(), variant).toEqual(theirs.sort());
    }
  });
});

describe.skipIf(!hostHasKernelBtf)(`relocation coverage on the running kernel (${hostKernelBtf})`, () => {
  it("agrees with bpftool -d, and names the nested sock member a real tcp_sock reaches differently", async () => {
    const kernel = await loadBtf(hostKernelBtf);
    const reported = await bpftoolUnmatched(hostKernelBtf, [...objectPaths.values()]);
    const ours = bpfFixtures.flatMap((fixture) => {
      const coverage = coverageOf(kernel, fixture);
      return [...coverage.unresolved, ...coverage.guarded].map((entry) => `${objectPaths.get(fixture)} ${entry.section} #${entry.index}`);
    });
    expect(ours.sort()).toEqual(reported.map((entry) => `${entry.object} ${entry.section} #${entry.index}`).sort());
    // A real tcp_sock starts with inet_connection_sock, not `struct sock sk`.
    expect(brief(coverageOf(kernel, "sockops").unresolved)).toEqual([
      "sockops #1 FIELD_BYTE_OFFSET struct tcp_sock::sk.__sk_common.skc_daddr: struct tcp_sock has no member sk",
    ]);
    expect(coverageOf(kernel, "tcprtt").unresolved).toEqual([]);
  });
});

describe("coverage records", () => {
  it("are identical whatever order the relocations come in", () => {
    const object = objects.get("flavors")!;
    const kernel = kernels.get("missing")!;
    const shuffled = { name: "flavors", btf: object.btf, relocations: [...object.relocations].reverse() };
    expect(computeCoverage(kernel, shuffled)).toEqual(coverageOf(kernel, "flavors"));
  });

  it("are the same on a kernel opened lazily (openBtf, as the prune pass does) as on one parsed whole", async () => {
    for (const variant of variants) {
      const lazy = openBtf(await readFile(kernelPaths.get(variant)!));
      for (const fixture of bpfFixtures) expect(coverageOf(lazy, fixture), `${variant} ${fixture}`).toEqual(coverageOf(kernels.get(variant)!, fixture));
    }
  });
});
