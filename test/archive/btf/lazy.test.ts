import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBtf, typesNamedLike } from "../../../archive/btf/lazy.ts";
import { parseBtf } from "../../../archive/btf/parse.ts";
import { FormatError } from "../../../archive/errors.ts";
import { makePaholeBtf } from "../../fixtures/all-kinds.ts";
import { btfBytes, info, nameOffset } from "../../helpers/btf-bytes.ts";
import { hostHasKernelBtf, hostKernelBtf } from "../../helpers/host-kernel-btf.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-lazy-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("openBtf", () => {
  it("reads as the spec parseBtf decodes, type by type and as an array, on pahole's output of every kind", async () => {
    const bytes = await readFile(await makePaholeBtf(join(dir, "all-kinds.btf")));
    const whole = parseBtf(bytes);
    const lazy = openBtf(bytes);
    expect(lazy.header).toEqual(whole.header);
    expect(lazy.types.length).toBe(whole.types.length);
    expect(lazy.types[whole.types.length]).toBeUndefined();
    expect(0 in lazy.types && !(whole.types.length in lazy.types)).toBe(true);
    expect(lazy.types[3]).toEqual(whole.types[3]);
    expect([...lazy.types]).toEqual(whole.types);
    expect(lazy.types.filter((type) => type.kind === "STRUCT")).toEqual(
      whole.types.filter((type) => type.kind === "STRUCT"),
    );
  });

  it("finds types of a kind family by name and by name___flavor without the ones that only share a prefix", () => {
    const strings = "\0int\0tcp_sock\0tcp_sock___v2\0tcp_socket\0xtcp_sock\0";
    const struct = (name: string) => [nameOffset(strings, name), info(4), 4];
    const types = [
      nameOffset(strings, "int"),
      info(1),
      4,
      0x01000020,
      ...struct("tcp_sock"),
      ...struct("tcp_sock___v2"),
      ...struct("tcp_socket"),
      ...struct("xtcp_sock"),
      nameOffset(strings, "tcp_sock"),
      info(5),
      4,
    ];
    const spec = openBtf(btfBytes({ strings, types }));
    expect(typesNamedLike(spec, "tcp_sock", "STRUCT")?.map((type) => [type.id, type.name])).toEqual([
      [2, "tcp_sock"],
      [3, "tcp_sock___v2"],
    ]);
    expect(typesNamedLike(spec, "tcp_sock", "UNION")?.map((type) => [type.id, type.kind])).toEqual([[6, "UNION"]]);
    expect(typesNamedLike(spec, "sock", "STRUCT")).toEqual([]);
    expect(typesNamedLike(parseBtf(btfBytes({ strings, types })), "tcp_sock", "STRUCT")).toBeUndefined();
  });

  it("checks every record's framing up front and a type's contents when it is read", () => {
    const strings = "\0int\0p\0";
    const truncated = [nameOffset(strings, "int"), info(1), 4];
    expect(() => openBtf(btfBytes({ strings, types: truncated }))).toThrowError(/is truncated/);
    // A PTR to type 9 of 2: framed right, so the spec opens; reading the PTR fails like parseBtf.
    const badRef = [nameOffset(strings, "int"), info(1), 4, 0x01000020, nameOffset(strings, "p"), info(2), 9];
    const spec = openBtf(btfBytes({ strings, types: badRef }));
    expect(spec.types[0]?.name).toBe("int");
    expect(() => spec.types[1]).toThrowError(FormatError);
    expect(() => spec.types[1]).toThrowError(
      "type [2] PTR at offset 40: type refers to type [9] but the last type is [2]",
    );
  });
});

describe.skipIf(!hostHasKernelBtf)("openBtf on the running kernel's BTF", () => {
  it("finds the same candidates by name and kind family as a whole parse, decoding only what it is asked for", async () => {
    const bytes = await readFile(hostKernelBtf);
    const whole = parseBtf(bytes);
    const lazy = openBtf(bytes);
    const family = (kind: string) => (kind === "ENUM64" ? "ENUM" : kind);
    for (const [name, kind] of [
      ["task_struct", "STRUCT"],
      ["tcp_sock", "STRUCT"],
      ["sock", "STRUCT"],
      ["bpf_func_id", "ENUM"],
      ["bpf_func_id", "ENUM64"],
      ["int", "INT"],
      ["tcp_v4_connect", "FUNC"],
    ] as const) {
      const expected = whole.types.filter(
        (type) => family(type.kind) === family(kind) && (type.name === name || type.name.startsWith(`${name}___`)),
      );
      expect(expected.length, name).toBeGreaterThan(0);
      expect(typesNamedLike(lazy, name, kind), name).toEqual(expected);
    }
  });
});
