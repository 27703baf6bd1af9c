import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BtfSpec } from "../../../archive/btf/types.ts";
import { loadBpfObject, type BpfObject, type CoreRelocation } from "../../../archive/co-re/bpf-object.ts";
import { parseLocalSpec } from "../../../archive/co-re/local-spec.ts";
import { ReloKind, reloKindNames, type ReloKind as Kind } from "../../../archive/co-re/relo-kinds.ts";
import { FormatError } from "../../../archive/errors.ts";
import { makeCoreObject } from "../../fixtures/bpf-objects.ts";

let dir: string;
let flavors: BpfObject;
let sockops: BpfObject;
let kprobe: BpfObject;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-local-spec-"));
  flavors = await loadBpfObject(await makeCoreObject(dir, "flavors"));
  sockops = await loadBpfObject(await makeCoreObject(dir, "sockops"));
  kprobe = await loadBpfObject(await makeCoreObject(dir, "kprobe"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function typeId(btf: BtfSpec, kind: string, name: string): number {
  return btf.types.find((type) => type.kind === kind && type.name === name)!.id;
}

function relocation(typeId: number, accessString: string, kind: Kind = ReloKind.FieldByteOffset): CoreRelocation {
  return {
    section: "test",
    program: "test",
    index: 0,
    insnOff: 0,
    kind,
    kindName: reloKindNames[kind],
    typeId,
    accessString,
  };
}

describe("local spec names", () => {
  it("names every relocation of the compiled objects the way a developer reads them", () => {
    expect(sockops.relocations.map((r) => parseLocalSpec(sockops.btf, r).name)).toEqual([
      "struct tcp_sock::snd_cwnd",
      "struct tcp_sock::sk.__sk_common.skc_daddr",
    ]);
    expect(kprobe.relocations.map((r) => parseLocalSpec(kprobe.btf, r).name)).toEqual([
      "struct task_struct::real_parent",
      "struct task_struct::tgid",
      "struct task_struct::children.next",
    ]);
    expect(flavors.relocations.map((r) => `${r.kindName} ${parseLocalSpec(flavors.btf, r).name}`)).toEqual([
      "FIELD_EXISTS struct tcp_sock::srtt_us",
      "FIELD_BYTE_OFFSET struct tcp_sock::srtt_us",
      "FIELD_BYTE_OFFSET struct tcp_sock___old::srtt",
      ...[
        "FIELD_BYTE_OFFSET",
        "FIELD_BYTE_SIZE",
        "FIELD_LSHIFT_U64",
        "FIELD_SIGNED",
        "FIELD_RSHIFT_U64",
        "FIELD_RSHIFT_U64",
      ].map((kind) => `${kind} struct sock::sk_no_check_tx`),
      "ENUMVAL_VALUE enum tcp_ca_state::TCP_CA_Loss",
      "ENUMVAL_EXISTS enum tcp_ca_state::TCP_CA_CWR",
      "ENUMVAL_EXISTS enum bpf_func_id::BPF_FUNC_for_each_map_elem",
      "ENUMVAL_VALUE enum bpf_func_id::BPF_FUNC_for_each_map_elem",
      "TYPE_EXISTS struct bpf_iter_missing",
      "TYPE_SIZE struct task_struct",
      "TYPE_ID_TARGET struct task_struct",
      "TYPE_ID_LOCAL struct sock",
    ]);
  });

  it("writes array elements as [i], a non-zero root index on the root, and skips anonymous members", () => {
    const task = typeId(kprobe.btf, "STRUCT", "task_struct");
    expect(parseLocalSpec(kprobe.btf, relocation(task, "0:3:2")).name).toBe("struct task_struct::comm[2]");
    expect(parseLocalSpec(kprobe.btf, relocation(task, "1:1")).name).toBe("struct task_struct[1]::pid");
    expect(parseLocalSpec(kprobe.btf, relocation(task, "0")).name).toBe("struct task_struct");
    const tcpSock = typeId(sockops.btf, "STRUCT", "tcp_sock");
    // sock member 7 is the anonymous union { sk_user_data; sk_flags; } (bitfields count as members).
    const spec = parseLocalSpec(sockops.btf, relocation(tcpSock, "0:0:7:1"));
    expect(spec.name).toBe("struct tcp_sock::sk.sk_flags");
    expect(spec.accessors.map((accessor) => accessor.name)).toEqual([undefined, "sk", "sk_flags"]);
  });

  it("adds up the bit offset along the access path, array elements included", () => {
    const task = typeId(kprobe.btf, "STRUCT", "task_struct");
    // __state (8) pid (4) tgid (4) comm[16] at byte 16; element 2 at byte 18.
    expect(parseLocalSpec(kprobe.btf, relocation(task, "0:3:2")).bitOffset).toBe(18 * 8);
  });

  it("refuses access strings that do not fit the local types, naming the relocation and the step", () => {
    const task = typeId(kprobe.btf, "STRUCT", "task_struct");
    const enumId = typeId(flavors.btf, "ENUM", "tcp_ca_state");
    const cases: [BtfSpec, CoreRelocation, RegExp][] = [
      [
        kprobe.btf,
        relocation(task, "0:42"),
        /FIELD_BYTE_OFFSET on \[\d+\] "0:42": struct task_struct has no member #42/,
      ],
      [kprobe.btf, relocation(task, "0:1:0"), /cannot take member or element 0 of int/],
      [kprobe.btf, relocation(task, "0:3:16"), /index 16 is past the 16 elements/],
      [kprobe.btf, relocation(task, "0:1", ReloKind.TypeSize), /type-based relocation must have access string "0"/],
      [flavors.btf, relocation(enumId, "9", ReloKind.EnumvalValue), /enum tcp_ca_state has no value #9/],
      [kprobe.btf, relocation(task, "0", ReloKind.EnumvalExists), /must index one value of an enum/],
    ];
    for (const [btf, reloc, message] of cases) {
      expect(() => parseLocalSpec(btf, reloc)).toThrow(FormatError);
      expect(() => parseLocalSpec(btf, reloc)).toThrow(message);
    }
  });
});
