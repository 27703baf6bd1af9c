import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBtf } from "../../../archive/btf/lazy.ts";
import { loadBtf } from "../../../archive/btf/load.ts";
import type { BtfSpec } from "../../../archive/btf/types.ts";
import { loadBpfObject, type BpfObject } from "../../../archive/co-re/bpf-object.ts";
import { computeCoverage, type CoverageEntry } from "../../../archive/co-re/coverage.ts";
import { bpftoolUnmatched } from "../../helpers/bpftool-unmatched.ts";
import {
  bpfFixtures,
  guardsFixture,
  makeCoreObject,
  makeKernelBtf,
  type BpfFixture,
  type KernelVariant,
} from "../../fixtures/bpf-objects.ts";
import { hostHasKernelBtf, hostKernelBtf } from "../../helpers/host-kernel-btf.ts";

const section = "fentry/tcp_rcv_established";
const fixtures: BpfFixture[] = [...bpfFixtures, guardsFixture];
const variants = ["normal", "renamed", "missing", "moved", "ambiguous"] as const satisfies KernelVariant[];

let dir: string;
const objectPaths = new Map<BpfFixture, string>();
const objects = new Map<BpfFixture, BpfObject>();
const kernelPaths = new Map<KernelVariant, string>();
const kernels = new Map<KernelVariant, BtfSpec>();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-coverage-"));
  for (const fixture of fixtures) {
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

const coverageOf = (kernel: BtfSpec, fixture: BpfFixture) =>
  computeCoverage(kernel, { name: fixture, ...objects.get(fixture)! });
const brief = (entries: CoverageEntry[]) =>
  entries.map(
    (entry) =>
      `${entry.section} #${entry.index} ${entry.kind} ${entry.name}: ${entry.why}${entry.guard ? ` [guard #${entry.guard.index}=${entry.guard.value}]` : ""}`,
  );

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
      expect(coverageOf(kernels.get(variant)!, "tcprtt")).toEqual({
        object: "tcprtt",
        total: 1,
        resolved: 1,
        guarded: [],
        unresolved: [],
      });
    }
    for (const variant of ["renamed", "missing"] as const) {
      expect(coverageOf(kernels.get(variant)!, "tcprtt").unresolved).toEqual([
        {
          section,
          program: "tcp_rcv",
          index: 0,
          kind: "FIELD_BYTE_OFFSET",
          name: "struct tcp_sock::srtt_us",
          status: "missing",
          why: noSrttUs,
        },
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
    // The ___old read runs only where bpf_core_field_exists(srtt_us) is 0, so it breaks the
    // program only on the kernel that lacks both members.
    const expected: Record<(typeof variants)[number], { unresolved: string[]; guarded: string[] }> = {
      normal: { unresolved: [], guarded: [`${oldSrtt} [guard #0=1]`, iterExists] },
      moved: { unresolved: [], guarded: [`${oldSrtt} [guard #0=1]`, iterExists] },
      renamed: {
        unresolved: [],
        guarded: [`${srttExists}: ${noSrttUs}`, `${srtt}: ${noSrttUs} [guard #0=0]`, iterExists],
      },
      missing: {
        unresolved: [oldSrtt],
        guarded: [
          `${srttExists}: ${noSrttUs}`,
          `${srtt}: ${noSrttUs} [guard #0=0]`,
          helperExists,
          `${helperValue} [guard #11=0]`,
          iterExists,
        ],
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
      expect({ unresolved: brief(coverage.unresolved), guarded: brief(coverage.guarded) }, variant).toEqual(
        expected[variant],
      );
      expect(coverage.total).toBe(17);
      expect(coverage.resolved).toBe(17 - coverage.unresolved.length - coverage.guarded.length);
    }
  });

  it("agrees with bpftool -d on which relocations have no matching target, on every unambiguous fixture kernel", async () => {
    for (const variant of variants.filter((name) => name !== "ambiguous")) {
      const reported = await bpftoolUnmatched(kernelPaths.get(variant)!, [...objectPaths.values()]);
      const ours = fixtures.flatMap((fixture) => {
        const coverage = coverageOf(kernels.get(variant)!, fixture);
        return [...coverage.unresolved, ...coverage.guarded].map(
          (entry) => `${objectPaths.get(fixture)} ${entry.section} #${entry.index}`,
        );
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
    const ours = fixtures.flatMap((fixture) => {
      const coverage = coverageOf(kernel, fixture);
      return [...coverage.unresolved, ...coverage.guarded].map(
        (entry) => `${objectPaths.get(fixture)} ${entry.section} #${entry.index}`,
      );
    });
    expect(ours.sort()).toEqual(reported.map((entry) => `${entry.object} ${entry.section} #${entry.index}`).sort());
    // A real tcp_sock starts with inet_connection_sock, not `struct sock sk`.
    expect(brief(coverageOf(kernel, "sockops").unresolved)).toEqual([
      "sockops #1 FIELD_BYTE_OFFSET struct tcp_sock::sk.__sk_common.skc_daddr: struct tcp_sock has no member sk",
    ]);
    expect(coverageOf(kernel, "tcprtt").unresolved).toEqual([]);
  });
});

describe("guarded reads: a failing relocation its own program's check keeps from running", () => {
  // guards.c, one program per pattern, all in one section; `program #N KIND name [guard]`.
  const guardsOn = (variant: KernelVariant) => {
    const coverage = coverageOf(kernels.get(variant)!, "guards");
    const line = (entry: CoverageEntry) =>
      `${entry.program} #${entry.index} ${entry.kind} ${entry.name}${entry.guard ? ` <- #${entry.guard.index} ${entry.guard.kind} ${entry.guard.name} = ${entry.guard.value}` : ""}`;
    return { guarded: coverage.guarded.map(line), unresolved: coverage.unresolved.map(line), coverage };
  };
  const typeGuarded = [
    "type_guard #9 TYPE_EXISTS struct bpf_iter_missing___x",
    "type_guard #10 FIELD_BYTE_OFFSET struct bpf_iter_missing___x::state <- #9 TYPE_EXISTS struct bpf_iter_missing___x = 0",
    "type_guard #11 TYPE_SIZE struct bpf_iter_missing___x <- #9 TYPE_EXISTS struct bpf_iter_missing___x = 0",
  ];
  const oldTaskState =
    "task_state #8 FIELD_BYTE_OFFSET struct task_struct___o::state <- #6 FIELD_EXISTS struct task_struct___x::__state = 1";
  const typePresent = "type_present #13 FIELD_BYTE_OFFSET struct tcp_sock___v3::rtt_v3";

  it("bpf_core_field_exists guards the same read in its program, not the same read in another program of the section", () => {
    const { guarded, unresolved } = guardsOn("renamed");
    expect(guarded).toContain(
      "field_guard #1 FIELD_BYTE_OFFSET struct tcp_sock::srtt_us <- #0 FIELD_EXISTS struct tcp_sock::srtt_us = 0",
    );
    expect(unresolved).toContain("unguarded #2 FIELD_BYTE_OFFSET struct tcp_sock::srtt_us");
  });

  it("___new/___old flavors: each flavor's read is guarded where the check sends the program to the other, and breaks where neither exists", () => {
    expect(guardsOn("normal").guarded).toContain(
      "flavor_guard #5 FIELD_BYTE_OFFSET struct tcp_sock___old::srtt <- #3 FIELD_EXISTS struct tcp_sock___new::srtt_us = 1",
    );
    expect(guardsOn("renamed").guarded).toContain(
      "flavor_guard #4 FIELD_BYTE_OFFSET struct tcp_sock___new::srtt_us <- #3 FIELD_EXISTS struct tcp_sock___new::srtt_us = 0",
    );
    const missing = guardsOn("missing");
    expect(missing.guarded).toContain(
      "flavor_guard #4 FIELD_BYTE_OFFSET struct tcp_sock___new::srtt_us <- #3 FIELD_EXISTS struct tcp_sock___new::srtt_us = 0",
    );
    expect(missing.unresolved).toContain("flavor_guard #5 FIELD_BYTE_OFFSET struct tcp_sock___old::srtt");
    // get_task_state(): every fixture kernel has __state, so the task_struct___o read never runs.
    for (const variant of variants) expect(guardsOn(variant).guarded, variant).toContain(oldTaskState);
  });

  it("bpf_core_type_exists guards every relocation on a missing flavored type, but not a read on a type that exists without the member", () => {
    for (const variant of variants) {
      const { guarded, unresolved } = guardsOn(variant);
      expect(guarded, variant).toEqual(expect.arrayContaining(typeGuarded));
      // bpf_core_type_exists(struct tcp_sock___v3) is 1 wherever tcp_sock is: the read runs, and is poisoned.
      expect(unresolved, variant).toContain(typePresent);
    }
  });

  it("bpf_core_enum_value_exists guards bpf_core_enum_value on a kernel without the enumerator", () => {
    expect(guardsOn("missing").guarded).toEqual(
      expect.arrayContaining([
        "enum_guard #14 ENUMVAL_EXISTS enum bpf_func_id::BPF_FUNC_for_each_map_elem",
        "enum_guard #15 ENUMVAL_VALUE enum bpf_func_id::BPF_FUNC_for_each_map_elem <- #14 ENUMVAL_EXISTS enum bpf_func_id::BPF_FUNC_for_each_map_elem = 0",
      ]),
    );
    expect(guardsOn("normal").guarded.filter((line) => line.startsWith("enum_guard"))).toEqual([]);
  });

  it("lists exactly these per kernel: only the unguarded read and the type_exists-true read break on the renamed kernel", () => {
    expect(guardsOn("renamed").unresolved).toEqual([
      "unguarded #2 FIELD_BYTE_OFFSET struct tcp_sock::srtt_us",
      typePresent,
    ]);
    expect(guardsOn("normal").unresolved).toEqual([typePresent]);
    expect(guardsOn("missing").unresolved).toEqual([
      "unguarded #2 FIELD_BYTE_OFFSET struct tcp_sock::srtt_us",
      "flavor_guard #5 FIELD_BYTE_OFFSET struct tcp_sock___old::srtt",
      typePresent,
    ]);
    const { coverage } = guardsOn("missing");
    expect(coverage.resolved + coverage.guarded.length + coverage.unresolved.length).toBe(coverage.total);
  });

  it("never guards through a check that is itself ambiguous: the load fails there anyway", () => {
    const { unresolved } = guardsOn("ambiguous");
    expect(unresolved).toContain("field_guard #1 FIELD_BYTE_OFFSET struct tcp_sock::srtt_us");
    expect(unresolved).toContain("flavor_guard #5 FIELD_BYTE_OFFSET struct tcp_sock___old::srtt");
  });
});

describe("coverage records", () => {
  it("are identical whatever order the relocations come in", () => {
    const object = objects.get("flavors")!;
    const kernel = kernels.get("missing")!;
    const shuffled = { name: "flavors", btf: object.btf, relocations: [...object.relocations].reverse() };
    expect(computeCoverage(kernel, shuffled)).toEqual(coverageOf(kernel, "flavors"));
  });

  it("are the same on a kernel opened lazily (openBtf, as the minify pass does) as on one parsed whole", async () => {
    for (const variant of variants) {
      const lazy = openBtf(await readFile(kernelPaths.get(variant)!));
      for (const fixture of fixtures)
        expect(coverageOf(lazy, fixture), `${variant} ${fixture}`).toEqual(coverageOf(kernels.get(variant)!, fixture));
    }
  });
});
