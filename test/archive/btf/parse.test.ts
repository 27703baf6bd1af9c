import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBtf, loadElfBtf } from "../../../archive/btf/load.ts";
import { parseBtf } from "../../../archive/btf/parse.ts";
import type { BtfSpec } from "../../../archive/btf/types.ts";
import { FormatError } from "../../../archive/errors.ts";
import { makeBpfObject, makePaholeBtf } from "../../fixtures/all-kinds.ts";
import { makeVmlinux } from "../../fixtures/vmlinux.ts";
import { bpftoolDump, dumpLikeBpftool } from "../../helpers/btf-dump.ts";
import { btfBytes, info, nameOffset, setU32 } from "../../helpers/btf-bytes.ts";
import { hostHasKernelBtf, hostKernelBtf } from "../../helpers/host-kernel-btf.ts";

function kindCounts(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const kind = /^\[\d+\] (\S+)/.exec(line)?.[1];
    if (kind) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

function rejects(bytes: Uint8Array, message: string | RegExp): void {
  expect(() => parseBtf(bytes)).toThrowError(FormatError);
  expect(() => parseBtf(bytes)).toThrowError(message);
}

describe.skipIf(!hostHasKernelBtf)("the running kernel's BTF (/sys/kernel/btf/vmlinux)", () => {
  let spec: BtfSpec;
  let bpftool: string[];

  beforeAll(async () => {
    const bytes = await readFile(hostKernelBtf);
    spec = parseBtf(bytes);
    bpftool = await bpftoolDump(hostKernelBtf);
  });

  it("has as many types of each kind as bpftool counts", () => {
    const ours = new Map<string, number>();
    for (const type of spec.types) ours.set(type.kind, (ours.get(type.kind) ?? 0) + 1);
    expect(ours).toEqual(kindCounts(bpftool));
    expect(spec.types.length).toBe([...kindCounts(bpftool).values()].reduce((a, b) => a + b));
  });

  it("gives struct task_struct the size bpftool prints", () => {
    const line = bpftool.find((text) => /^\[\d+\] STRUCT 'task_struct' /.test(text))!;
    const task = spec.types.find((type) => type.kind === "STRUCT" && type.name === "task_struct");
    expect(task?.kind).toBe("STRUCT");
    if (task?.kind !== "STRUCT") return;
    expect(`[${task.id}] STRUCT 'task_struct' size=${task.size} vlen=${task.members.length}`).toBe(line);
  });

  it("decodes every record, member and value exactly as bpftool dumps it", () => {
    expect(dumpLikeBpftool(spec).join("\n")).toBe(bpftool.join("\n").trimEnd());
  });
});

describe("BTF from real tools", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-btf-parse-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("parses pahole --btf_encode_detached output for the vmlinux fixture as bpftool does", async () => {
    const vmlinux = await makeVmlinux(join(dir, "vmlinux"));
    const out = join(dir, "vmlinux.btf");
    await execa("pahole", [`--btf_encode_detached=${out}`, vmlinux]);
    const spec = await loadBtf(out);
    expect(dumpLikeBpftool(spec)).toEqual(await bpftoolDump(out));
    expect(spec.types.some((type) => type.kind === "STRUCT" && type.name === "tcp_sock")).toBe(true);
  });

  it("covers all 19 kinds between clang's BPF BTF and pahole's BTF, each matching bpftool", async () => {
    const little = await makeBpfObject(join(dir, "all-kinds.bpf.o"));
    const detached = await makePaholeBtf(join(dir, "all-kinds.btf"));
    const seen = new Set<string>();
    for (const [path, spec] of [
      [little, await loadElfBtf(little)],
      [detached, await loadBtf(detached)],
    ] as const) {
      expect(dumpLikeBpftool(spec)).toEqual(await bpftoolDump(path));
      for (const type of spec.types) seen.add(type.kind);
    }
    expect([...seen].sort()).toEqual(
      [
        "INT",
        "PTR",
        "ARRAY",
        "STRUCT",
        "UNION",
        "ENUM",
        "FWD",
        "TYPEDEF",
        "VOLATILE",
        "CONST",
        "RESTRICT",
        "FUNC",
        "FUNC_PROTO",
        "VAR",
        "DATASEC",
        "FLOAT",
        "DECL_TAG",
        "TYPE_TAG",
        "ENUM64",
      ].sort(),
    );
  });

  it("decodes big-endian BTF (clang -target bpfeb) to the same types as the little-endian build", async () => {
    const big = await loadElfBtf(await makeBpfObject(join(dir, "all-kinds.bpfeb.o"), { bigEndian: true }));
    const little = await loadElfBtf(await makeBpfObject(join(dir, "all-kinds.bpfel.o")));
    expect(big.header.littleEndian).toBe(false);
    expect(big.types).toEqual(little.types);
  });

  it("reads the signed ENUM64 value as a negative bigint and the unsigned one past 2^32", async () => {
    const spec = await loadBtf(await makePaholeBtf(join(dir, "enum64.btf")));
    const values = spec.types.flatMap((type) => (type.kind === "ENUM64" ? type.values : []));
    expect(values).toEqual(
      expect.arrayContaining([
        { name: "BIG", value: 0x100000000n },
        { name: "NEGATIVE_BIG", value: -0x100000000n },
      ]),
    );
  });

  it("skips the extra bytes of a 32-byte header", async () => {
    const original = await readFile(await makePaholeBtf(join(dir, "hdr32.btf")));
    const widened = new Uint8Array(original.length + 8);
    widened.set(original.subarray(0, 24));
    widened.set(original.subarray(24), 32);
    setU32(widened, 4, 32);
    expect(parseBtf(widened).types).toEqual(parseBtf(original).types);
  });
});

describe("hand-built BTF", () => {
  const strings = "\0int\0sock\0flags\0a\0e\0V\0f\0tag\0";
  const off = (name: string) => nameOffset(strings, name);
  // [1] INT int, [2] STRUCT sock with a 3-bit bitfield, [3] ENUM e signed, [4] FUNC_PROTO,
  // [5] FUNC f extern, [6] DECL_TAG on member 1 of [2], [7] PTR to [2], [8] ENUM64 e unsigned.
  const types = [
    off("int"),
    info(1),
    4,
    0x01000020,
    off("sock"),
    info(4, 2, true),
    8,
    off("a"),
    1,
    0,
    off("flags"),
    1,
    (3 << 24) | 35,
    off("e"),
    info(6, 1, true),
    4,
    off("V"),
    0xffffffff,
    0,
    info(13, 1),
    1,
    off("a"),
    7,
    off("f"),
    info(12, 2),
    4,
    off("tag"),
    info(17),
    2,
    1,
    0,
    info(2),
    2,
    off("e"),
    info(19, 1),
    8,
    off("V"),
    0xffffffff,
    0x7fffffff,
  ];

  it("decodes the trailing data of each kind, honouring kind_flag", () => {
    expect(parseBtf(btfBytes({ strings, types })).types).toEqual([
      { id: 1, kind: "INT", name: "int", size: 4, encoding: 1, bitOffset: 0, bits: 32 },
      {
        id: 2,
        kind: "STRUCT",
        name: "sock",
        size: 8,
        members: [
          { name: "a", type: 1, bitOffset: 0, bitfieldSize: 0 },
          { name: "flags", type: 1, bitOffset: 35, bitfieldSize: 3 },
        ],
      },
      { id: 3, kind: "ENUM", name: "e", size: 4, signed: true, values: [{ name: "V", value: -1 }] },
      { id: 4, kind: "FUNC_PROTO", name: "", returnType: 1, params: [{ name: "a", type: 7 }] },
      { id: 5, kind: "FUNC", name: "f", type: 4, linkage: "extern" },
      { id: 6, kind: "DECL_TAG", name: "tag", type: 2, componentIdx: 1, attribute: false },
      { id: 7, kind: "PTR", name: "", type: 2 },
      { id: 8, kind: "ENUM64", name: "e", size: 8, signed: false, values: [{ name: "V", value: 0x7fffffffffffffffn }] },
    ]);
  });

  it("decodes the same types from a big-endian blob", () => {
    expect(parseBtf(btfBytes({ strings, types, bigEndian: true })).types).toEqual(
      parseBtf(btfBytes({ strings, types })).types,
    );
  });

  it("rejects unknown kind 20, naming the type id and byte offset", () => {
    const bad = [...types.slice(0, 4), off("int"), info(20), 4];
    rejects(btfBytes({ strings, types: bad }), "type [2] at offset 40 has unknown kind 20 (info 0x14000000)");
  });

  it("rejects a record whose trailing data runs past the type section", () => {
    // STRUCT says vlen 2 but only one member follows.
    rejects(
      btfBytes({ strings, types: types.slice(0, 10) }),
      "type [2] STRUCT at offset 40 is truncated: it needs 36 bytes, the type section ends at 64",
    );
  });

  it("rejects a type section that overruns the blob", () => {
    rejects(setU32(btfBytes({ strings, types }), 12, 1024), /type section \[24, 1048\) overruns/);
  });

  it("rejects trailing bytes after the last type", () => {
    rejects(
      btfBytes({ strings, types: [...types.slice(0, 4), 0, 0] }),
      "8 trailing bytes at offset 40 after type [1], too few for a type record (type section ends at 48)",
    );
  });

  it("rejects a reference to a type id beyond the last one", () => {
    const bad = [...types.slice(0, 4), 0, info(2), 9];
    rejects(
      btfBytes({ strings, types: bad }),
      "type [2] PTR at offset 40: type refers to type [9] but the last type is [2]",
    );
  });

  it("rejects a member whose type id is beyond the last one, naming the member", () => {
    const bad = [...types.slice(0, 4), off("sock"), info(4, 1), 4, off("a"), 5, 0];
    rejects(
      btfBytes({ strings, types: bad }),
      "type [2] STRUCT at offset 40: member 0 refers to type [5] but the last type is [2]",
    );
  });

  it("rejects a name offset past the string section", () => {
    const bad = [999, ...types.slice(1, 4)];
    rejects(
      btfBytes({ strings, types: bad }),
      `type [1] INT at offset 24: string offset 999 is out of range (string section is ${strings.length} bytes)`,
    );
  });

  it("rejects a string section that does not start with NUL", () => {
    const stringStart = 24 + types.length * 4;
    const bad = btfBytes({ strings: `x${strings.slice(1)}`, types });
    rejects(bad, `BTF string section at offset ${stringStart} does not start with NUL`);
  });

  it("rejects reserved info bits", () => {
    const bad = [off("int"), info(1) | 0x10000, 4, 0x01000020];
    rejects(btfBytes({ strings, types: bad }), "type [1] INT at offset 24 sets reserved info bits (info 0x1010000)");
  });

  it("rejects a FUNC linkage beyond extern", () => {
    const bad = [...types.slice(0, 4), 0, info(13), 1, off("f"), info(12, 3), 2];
    rejects(btfBytes({ strings, types: bad }), "type [3] FUNC at offset 52: unknown linkage 3");
  });
});
