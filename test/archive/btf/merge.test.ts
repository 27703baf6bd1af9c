// Modules' split BTF merged with their base into one standalone BTF: bpftool reads the merged file
// as the base's dump followed by each module's own dump against the base, each module's ids moved
// past the modules before it; every kind a split can hold is renumbered.
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FormatError } from "../../../archive/errors.ts";
import { btfKindNames, joinSplitBtf, mergeSplitBtf, parseBtf } from "../../../archive/btf/index.ts";
import { makeAllKindsModule, makeModule, makeVmlinux } from "../../fixtures/vmlinux.ts";

let dir: string;
let basePath: string;
const splits: Record<"nf_conntrack" | "xfs" | "kinds", { path: string; bytes: Buffer }> = {} as never;
let base: Buffer;

const dump = async (file: string, withBase?: string) =>
  (await execa("bpftool", [...(withBase ? ["-B", withBase] : []), "btf", "dump", "file", file])).stdout;

// A module's dump against the base, as it reads once `shift` types were appended before it.
function shifted(text: string, baseLastId: number, shift: number): string {
  return text.replace(/(\[|type_id=)(\d+)/g, (whole, prefix: string, id: string) =>
    Number(id) > baseLastId ? `${prefix}${Number(id) + shift}` : whole,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-merge-"));
  basePath = join(dir, "vmlinux.btf");
  await execa("pahole", [`--btf_encode_detached=${basePath}`, await makeVmlinux(join(dir, "vmlinux"))]);
  const objects = {
    nf_conntrack: await makeModule(join(dir, "nf_conntrack.ko")),
    xfs: await makeModule(join(dir, "xfs.ko"), { source: "xfs" }),
    kinds: await makeAllKindsModule(join(dir, "kinds.ko")),
  };
  for (const [name, ko] of Object.entries(objects)) {
    const path = join(dir, `${name}.btf`);
    await execa("pahole", ["--btf_gen_floats", `--btf_base=${basePath}`, `--btf_encode_detached=${path}`, ko]);
    splits[name as keyof typeof splits] = { path, bytes: await readFile(path) };
  }
  base = await readFile(basePath);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("mergeSplitBtf", () => {
  it("holds in its modules' split BTF every BTF kind, so the renumbering of each is exercised", () => {
    const { bytes, parts } = mergeSplitBtf(base, [{ name: "kinds", bytes: splits.kinds.bytes }]);
    const kinds = new Set(
      parseBtf(bytes)
        .types.filter((type) => type.id >= parts[0]!.firstId)
        .map((t) => t.kind),
    );
    expect([...kinds].sort()).toEqual(Object.values(btfKindNames).sort());
  });

  it("gives bpftool the base's dump, then each module's dump against the base, with ids moved past the modules before it", async () => {
    const order = ["nf_conntrack", "kinds", "xfs"] as const;
    const merged = mergeSplitBtf(
      base,
      order.map((name) => ({ name, bytes: splits[name].bytes })),
    );
    const mergedPath = join(dir, "merged.btf");
    await writeFile(mergedPath, merged.bytes);
    const baseDump = await dump(basePath);
    let expected = baseDump;
    for (const part of merged.parts) {
      const own = await dump(splits[part.name as (typeof order)[number]].path, basePath);
      expected += `\n${shifted(own, merged.baseLastId, part.firstId - merged.baseLastId - 1)}`;
    }
    expect(await dump(mergedPath)).toBe(expected);
    expect(merged.parts.map((part) => part.name)).toEqual(order);
    expect(merged.parts[0]!.firstId).toBe(merged.baseLastId + 1);
    expect(merged.parts[1]!.firstId).toBe(merged.parts[0]!.lastId + 1);
    expect(merged.parts[2]!.lastId).toBe(parseBtf(merged.bytes).types.length);
  });

  it("places the first module as joinSplitBtf does: the same bytes, nothing renumbered", () => {
    const merged = mergeSplitBtf(base, [{ name: "xfs", bytes: splits.xfs.bytes }]);
    expect(merged.bytes.equals(joinSplitBtf(base, splits.xfs.bytes))).toBe(true);
  });

  it("keeps a type two modules both hold twice, each copy whole, the second renumbered", () => {
    const twice = parseBtf(
      mergeSplitBtf(base, [
        { name: "a", bytes: splits.nf_conntrack.bytes },
        { name: "b", bytes: splits.nf_conntrack.bytes },
      ]).bytes,
    );
    const conns = twice.types.filter((type) => type.name === "nf_conn");
    expect(conns).toHaveLength(2);
    const [first, second] = [conns[0]!, conns[1]!];
    expect({ ...second, id: first.id, members: undefined }).toEqual({ ...first, members: undefined });
  });

  it("refuses a split made against another base, naming the module", async () => {
    // xfs made against a larger base (the kernel's with nf_conntrack joined): its own ids and
    // strings run past what the kernel's base and the split hold.
    const largerBase = join(dir, "larger.btf");
    await writeFile(largerBase, joinSplitBtf(base, splits.nf_conntrack.bytes));
    const foreign = join(dir, "xfs-foreign.btf");
    await execa("pahole", [`--btf_base=${largerBase}`, `--btf_encode_detached=${foreign}`, join(dir, "xfs.ko")]);
    expect(() => mergeSplitBtf(base, [{ name: "xfs", bytes: readFileSync(foreign) }])).toThrow(
      /^split BTF xfs: type \[\d+\] .*(refers to type|past the strings' end)/,
    );
    expect(() => mergeSplitBtf(base, [{ name: "xfs", bytes: base.subarray(0, 30) }])).toThrow(FormatError);
  });
});
