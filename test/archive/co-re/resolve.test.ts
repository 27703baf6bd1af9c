import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBtf } from "../../../archive/btf/load.ts";
import type { BtfSpec } from "../../../archive/btf/types.ts";
import { loadBpfObject, type BpfObject } from "../../../archive/co-re/bpf-object.ts";
import { ReloKind } from "../../../archive/co-re/relo-kinds.ts";
import { resolveRelocation } from "../../../archive/co-re/resolve.ts";
import { bpfFixtures, makeCoreObject, makeKernelBtf } from "../../fixtures/bpf-objects.ts";
import { specOf } from "../../helpers/btf-spec.ts";

let dir: string;
let moved: string;
let movedSpec: BtfSpec;
let normalSpec: BtfSpec;
const paths: string[] = [];
const objects: BpfObject[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-resolve-"));
  for (const fixture of bpfFixtures) {
    paths.push(await makeCoreObject(dir, fixture));
    objects.push(await loadBpfObject(paths.at(-1)!));
  }
  moved = await makeKernelBtf(dir, "moved");
  movedSpec = await loadBtf(moved);
  normalSpec = await loadBtf(await makeKernelBtf(dir, "normal"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const flavorsValues = (kernel: BtfSpec) =>
  objects[3]!.relocations.map((relocation) => {
    const outcome = resolveRelocation(kernel, objects[3]!.btf, relocation);
    return outcome.status === "resolved" ? outcome.value : outcome.status;
  });

describe("resolving relocations", () => {
  it("computes the byte offset libbpf finds for every plain member read on the moved-srtt_us kernel", async () => {
    for (const [index, path] of paths.entries()) {
      const { stderr } = await execa("bpftool", ["-d", "gen", "min_core_btf", moved, join(dir, "out.btf"), path]);
      // libbpf: prog 'S': relo #N: matching candidate #0 <byte_off> [21] struct tcp_sock.srtt_us (0:2 @ offset 52)
      // A bitfield prints as "offset 20.1": its load offset is not in the log, so it is left out.
      const lines = [
        ...stderr.matchAll(/prog '(.*)': relo #(\d+): matching candidate #0 <byte_off> .* @ offset (\d+)(\.\d+)?\)$/gm),
      ];
      const bitfields = new Set(
        lines.filter((line) => line[4] !== undefined).map(([, section, relo]) => `${section}#${relo}`),
      );
      const libbpf = new Map(
        lines
          .filter((line) => line[4] === undefined)
          .map(([, section, relo, offset]) => [`${section}#${relo}`, Number(offset)]),
      );
      const ours = new Map(
        objects[index]!.relocations.flatMap((relocation) => {
          const outcome = resolveRelocation(movedSpec, objects[index]!.btf, relocation);
          const key = `${relocation.section}#${relocation.index}`;
          return relocation.kind === ReloKind.FieldByteOffset && outcome.status === "resolved" && !bitfields.has(key)
            ? [[key, outcome.value] as const]
            : [];
        }),
      );
      expect(libbpf.size, bpfFixtures[index]).toBeGreaterThan(0);
      expect(ours, bpfFixtures[index]).toEqual(libbpf);
    }
  });

  it("gives the flavors object's bitfield, enum and type relocations libbpf's values on the normal kernel", () => {
    const task = normalSpec.types.find((type) => type.kind === "STRUCT" && type.name === "task_struct")!;
    const localSock = objects[3]!.btf.types.find((type) => type.kind === "STRUCT" && type.name === "sock")!;
    expect(flavorsValues(normalSpec)).toEqual([
      1, // FIELD_EXISTS tcp_sock::srtt_us
      48, // tcp_sock::srtt_us, after the 48-byte struct sock
      "missing", // tcp_sock___old::srtt
      20,
      4,
      62,
      0,
      63,
      63, // sk_no_check_tx: bit 161 in a u32 load at byte 20
      4, // TCP_CA_Loss
      1, // TCP_CA_CWR exists
      1,
      164, // BPF_FUNC_for_each_map_elem exists, its value
      "missing", // struct bpf_iter_missing
      task.kind === "STRUCT" ? task.size : -1,
      task.id,
      localSock.id, // TYPE_ID_LOCAL
    ]);
  });

  it("resolves TYPE_ID_LOCAL even on a kernel without the type, and marks guarded kinds", () => {
    const empty = specOf([{ kind: "INT", name: "int", size: 4, encoding: 1, bitOffset: 0, bits: 32 }]);
    const outcomes = objects[3]!.relocations.map((relocation) => resolveRelocation(empty, objects[3]!.btf, relocation));
    expect(
      outcomes.filter((outcome) => outcome.status === "resolved").map((outcome) => outcome.relocation.kindName),
    ).toEqual(["TYPE_ID_LOCAL"]);
    expect(outcomes.filter((outcome) => outcome.guarded).map((outcome) => outcome.relocation.kindName)).toEqual([
      "FIELD_EXISTS",
      "ENUMVAL_EXISTS",
      "ENUMVAL_EXISTS",
      "TYPE_EXISTS",
    ]);
    expect(outcomes[0]).toMatchObject({ status: "missing", why: "kernel has no struct tcp_sock" });
    expect(outcomes[2]).toMatchObject({
      status: "missing",
      why: "kernel has no struct tcp_sock",
      name: "struct tcp_sock___old::srtt",
    });
  });
});
