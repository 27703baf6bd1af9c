import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinSplitBtf, surveyBtf } from "../../../archive/btf/index.ts";
import { readElfSection } from "../../../archive/elf.ts";
import { joinedLayouts, surveyBase, surveySplit } from "../../../pipeline/stages/module-layouts.ts";
import { makeModule, makeVmlinux } from "../../fixtures/vmlinux.ts";

describe("a module's layouts read from its split BTF against a base surveyed once", () => {
  let work: string;
  let base: Buffer;
  let split: Buffer;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-module-layouts-"));
    const vmlinux = await makeVmlinux(join(work, "vmlinux.o"), { withBtf: true });
    const ko = await makeModule(join(work, "module.ko"), { btfBase: vmlinux });
    base = (await readElfSection(vmlinux, ".BTF"))!;
    split = (await readElfSection(ko, ".BTF"))!;
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("gives, for the names the module defines, the layouts a survey of base and module joined gives", () => {
    const surveyed = surveyBase(base);
    const module = surveySplit(split, surveyed);
    expect([...module.layouts.keys()]).toEqual(["struct nf_conn"]);
    const joined = surveyBtf(joinSplitBtf(base, split), { layouts: true }).layouts!;
    const names = [...module.layouts.keys(), "struct list_head"];
    expect(joinedLayouts(module, surveyed, names)).toEqual(new Map(names.map((name) => [name, joined.get(name)])));
    expect(module.kinds).toContain("STRUCT");
  });

  it("refuses a split BTF read against a base it was not made from (one without the types it refers to)", () => {
    // A BTF with no type and an empty string: magic, version 1, hdr_len 24, type_len 0, str_len 1.
    const empty = Buffer.alloc(25);
    empty.writeUInt16LE(0xeb9f, 0);
    empty.writeUInt8(1, 2);
    empty.writeUInt32LE(24, 4);
    empty.writeUInt32LE(1, 20);
    expect(() => surveySplit(split, surveyBase(empty))).toThrow(/refers to type|out of range/);
  });
});
