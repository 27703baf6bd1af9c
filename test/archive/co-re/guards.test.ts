// findGuard on guards.c (clang -target bpf) against kernel.c's "renamed" variant, which lacks
// tcp_sock::srtt_us: a failing read is guarded only by a check in its own program that closes its
// branch on this kernel. (test/archive/co-re/coverage.test.ts shows every pattern through coverage.)
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBtf } from "../../../archive/btf/load.ts";
import type { BtfSpec } from "../../../archive/btf/types.ts";
import { loadBpfObject, type BpfObject } from "../../../archive/co-re/bpf-object.ts";
import { findGuard } from "../../../archive/co-re/guards.ts";
import { resolveRelocation, type RelocationOutcome } from "../../../archive/co-re/resolve.ts";
import { guardsFixture, makeCoreObject, makeKernelBtf } from "../../fixtures/bpf-objects.ts";

let dir: string;
let object: BpfObject;
let outcomes: RelocationOutcome[];

const inProgram = (program: string) => outcomes.filter((outcome) => outcome.relocation.program === program);
const read = (program: string, kind: string) =>
  inProgram(program).find((outcome) => outcome.relocation.kindName === kind)!;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-guards-"));
  object = await loadBpfObject(await makeCoreObject(dir, guardsFixture));
  const kernel: BtfSpec = await loadBtf(await makeKernelBtf(dir, "renamed"));
  outcomes = object.relocations.map((relocation) => resolveRelocation(kernel, object.btf, relocation));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("findGuard", () => {
  it("finds the bpf_core_field_exists of the same access in the same program, false on this kernel", () => {
    const failing = read("field_guard", "FIELD_BYTE_OFFSET");
    expect(failing.status).toBe("missing");
    const guard = findGuard(object.btf, failing, inProgram("field_guard"));
    expect(guard).toMatchObject({ kind: "FIELD_EXISTS", name: "struct tcp_sock::srtt_us", value: 0 });
    expect(guard!.index).toBe(read("field_guard", "FIELD_EXISTS").relocation.index);
  });

  it("does not take a check from another program of the same section", () => {
    const failing = read("unguarded", "FIELD_BYTE_OFFSET");
    expect(failing.status).toBe("missing");
    expect(findGuard(object.btf, failing, inProgram("unguarded"))).toBeUndefined();
    expect(findGuard(object.btf, failing, [...inProgram("unguarded"), ...inProgram("field_guard")])).toBeUndefined();
  });

  it("guards a ___new flavor's read by its own exists check that is 0, with the other flavor's read left to run", () => {
    const program = inProgram("flavor_guard");
    const newer = program.find(
      (outcome) =>
        outcome.name.startsWith("struct tcp_sock___new::") && outcome.relocation.kindName === "FIELD_BYTE_OFFSET",
    )!;
    expect(findGuard(object.btf, newer, program)).toMatchObject({ kind: "FIELD_EXISTS", value: 0 });
  });

  it("guards nothing that resolved, nor a failing check itself", () => {
    const resolved = outcomes.find((outcome) => outcome.status === "resolved")!;
    expect(findGuard(object.btf, resolved, outcomes)).toBeUndefined();
    const check = read("field_guard", "FIELD_EXISTS");
    expect(findGuard(object.btf, check, inProgram("field_guard"))).toBeUndefined();
  });
});
