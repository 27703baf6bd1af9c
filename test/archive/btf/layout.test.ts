import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  compareLayouts,
  layoutOf,
  layoutSignature,
  structLayouts,
  type StructLayout,
} from "../../../archive/btf/layout.ts";
import { loadBtf, loadElfBtf } from "../../../archive/btf/load.ts";
import type { BtfSpec, BtfType } from "../../../archive/btf/types.ts";
import { makeVmlinux, type VmlinuxOptions } from "../../fixtures/vmlinux.ts";
import { specOf } from "../../helpers/btf-spec.ts";

const spec = (types: BtfType[]): BtfSpec => specOf(types);
const int: BtfType = { id: 1, kind: "INT", name: "int", size: 4, encoding: 1, bitOffset: 0, bits: 32 };
const priv = (id: number, size: number, memberName: string): BtfType => ({
  id,
  kind: "STRUCT",
  name: "priv",
  size,
  members: [{ name: memberName, type: 1, bitOffset: 0, bitfieldSize: 0 }],
});
const layouts = (entries: Record<string, StructLayout>) =>
  new Map(Object.entries(entries).map(([key, layout]) => [key, [layoutSignature(layout)]]));

describe("struct layouts of real BTF", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-btf-layout-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function paholeBtf(name: string, options: VmlinuxOptions = {}): Promise<BtfSpec> {
    const vmlinux = await makeVmlinux(join(dir, name), options);
    await execa("pahole", [`--btf_encode_detached=${vmlinux}.btf`, vmlinux]);
    return loadBtf(`${vmlinux}.btf`);
  }

  it("finds no mismatch between pahole's BTF of the fixture and the fixture's own .BTF", async () => {
    const ours = await paholeBtf("plain");
    const reference = await loadElfBtf(await makeVmlinux(join(dir, "with-btf"), { withBtf: true }));
    expect(structLayouts(reference).has("struct tcp_sock")).toBe(true);
    expect(compareLayouts(structLayouts(ours), structLayouts(reference))).toEqual([]);
  });

  it("reports a renamed tcp_sock member by name, both ways", async () => {
    const ours = structLayouts(await paholeBtf("renamed", { variant: "renamed" }));
    const reference = structLayouts(await paholeBtf("normal"));
    expect(compareLayouts(ours, reference)).toEqual([
      "struct tcp_sock::srtt_us missing from ours",
      "struct tcp_sock::srtt missing from reference",
    ]);
  });

  it("reports the shifted members and size when a tcp_sock member is missing", async () => {
    const ours = structLayouts(await paholeBtf("missing", { variant: "missing" }));
    const reference = structLayouts(await paholeBtf("reference"));
    const mismatches = compareLayouts(ours, reference);
    expect(mismatches).toContain("struct tcp_sock::srtt_us missing from ours");
    expect(mismatches).toContainEqual(expect.stringMatching(/^struct tcp_sock::mdev_us at bit \d+ vs \d+$/));
    expect(mismatches.every((message) => message.startsWith("struct tcp_sock"))).toBe(true);
  });

  it("lists members of anonymous unions under their own names at their offset in the parent", async () => {
    const [signature] = structLayouts(await paholeBtf("anon")).get("struct sock")!;
    const sock = layoutOf(signature!);
    const names = sock.members.map((member) => member.name);
    expect(names).toEqual(expect.arrayContaining(["sk_user_data", "sk_flags"]));
    const userData = sock.members.find((member) => member.name === "sk_user_data")!;
    const flags = sock.members.find((member) => member.name === "sk_flags")!;
    expect(userData.bitOffset).toBe(flags.bitOffset);
    expect(userData.bitOffset).toBeGreaterThan(0);
  });
});

describe("layout comparison", () => {
  it("words size, offset and bitfield differences as ours vs reference", () => {
    const ours = layouts({
      "struct tcp_sock": { size: 2048, members: [{ name: "srtt_us", bitOffset: 96, bitfieldSize: 0 }] },
      "struct sock": { size: 8, members: [{ name: "sk_padding", bitOffset: 0, bitfieldSize: 1 }] },
    });
    const reference = layouts({
      "struct tcp_sock": { size: 2056, members: [{ name: "srtt_us", bitOffset: 128, bitfieldSize: 0 }] },
      "struct sock": { size: 8, members: [{ name: "sk_padding", bitOffset: 0, bitfieldSize: 2 }] },
    });
    expect(compareLayouts(ours, reference)).toEqual([
      "struct sock::sk_padding bitfield size 1 vs 2",
      "struct tcp_sock: size 2048 vs 2056",
      "struct tcp_sock::srtt_us at bit 96 vs 128",
    ]);
  });

  it("reports reference structs ours lacks, and ignores ones only ours has", () => {
    const ours = layouts({ "struct only_ours": { size: 4, members: [] } });
    const reference = layouts({ "union only_reference": { size: 4, members: [] } });
    expect(compareLayouts(ours, reference)).toEqual(["union only_reference missing from ours"]);
  });

  it("keys structs and unions apart and skips anonymous ones", () => {
    const keys = [
      ...structLayouts(
        spec([
          int,
          { id: 2, kind: "STRUCT", name: "x", size: 4, members: [] },
          { id: 3, kind: "UNION", name: "x", size: 4, members: [] },
          { id: 4, kind: "STRUCT", name: "", size: 4, members: [] },
        ]),
      ).keys(),
    ];
    expect(keys).toEqual(["struct x", "union x"]);
  });

  it("keeps each distinct layout of a repeated name once, in an order independent of type ids", () => {
    const forward = structLayouts(spec([int, priv(2, 8, "b"), priv(3, 4, "a"), priv(4, 8, "b")]));
    const backward = structLayouts(spec([int, priv(2, 4, "a"), priv(3, 8, "b")]));
    expect(forward.get("struct priv")).toHaveLength(2);
    expect(forward.get("struct priv")).toEqual(backward.get("struct priv"));
    expect(compareLayouts(forward, backward)).toEqual([]);
  });

  it("reports a repeated name whose set of layouts differs", () => {
    const ours = structLayouts(spec([int, priv(2, 4, "a"), priv(3, 8, "b")]));
    const reference = structLayouts(spec([int, priv(2, 4, "a"), priv(3, 8, "c")]));
    expect(compareLayouts(ours, reference)).toEqual([
      "struct priv: its 2 distinct layouts in ours differ from the 2 in reference",
    ]);
  });
});
