// Split BTF joined to its base: read by our parser with the ids and names bpftool gives the split file.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FormatError } from "../../../archive/errors.ts";
import { btfTypeById, joinSplitBtf, parseBtf } from "../../../archive/btf/index.ts";
import { makeModule, makeVmlinux } from "../../fixtures/vmlinux.ts";

let dir: string;
let base: Buffer;
let split: Buffer;
let splitPath: string;
let basePath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-split-"));
  basePath = join(dir, "vmlinux.btf");
  splitPath = join(dir, "module.btf");
  await execa("pahole", [`--btf_encode_detached=${basePath}`, await makeVmlinux(join(dir, "vmlinux"))]);
  await execa("pahole", [
    `--btf_base=${basePath}`,
    `--btf_encode_detached=${splitPath}`,
    await makeModule(join(dir, "module.ko")),
  ]);
  [base, split] = await Promise.all([readFile(basePath), readFile(splitPath)]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("joinSplitBtf", () => {
  it("gives every split type the id bpftool -B gives it, and the base's types unchanged", async () => {
    const joined = parseBtf(joinSplitBtf(base, split));
    const alone = parseBtf(base);
    const dump = (await execa("bpftool", ["-B", basePath, "btf", "dump", "file", splitPath])).stdout;
    const id = Number(/^\[(\d+)\] STRUCT 'nf_conn'/m.exec(dump)![1]);
    expect(id).toBeGreaterThan(alone.types.length);
    const conn = btfTypeById(joined, id);
    expect(conn).toMatchObject({ kind: "STRUCT", name: "nf_conn", size: 48 });
    expect(joined.types.slice(0, alone.types.length)).toEqual(alone.types);
    // nf_conn's `owner` points at the base's `struct sock`.
    const owner = (conn as { members: { name: string; type: number }[] }).members.find(
      (member) => member.name === "owner",
    )!;
    const pointer = btfTypeById(joined, owner.type) as { kind: string; type: number };
    expect(pointer.kind).toBe("PTR");
    expect(pointer.type).toBeLessThanOrEqual(alone.types.length);
    expect(btfTypeById(joined, pointer.type)).toMatchObject({ kind: "STRUCT", name: "sock" });
  });

  it("refuses a base that is itself split BTF", () => {
    expect(() => joinSplitBtf(split, split)).toThrow(FormatError);
  });
});
