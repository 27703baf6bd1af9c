import { mkdtemp, rm } from "node:fs/promises";
import { machine, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBpfObject } from "../../../archive/co-re/bpf-object.ts";
import { FormatError } from "../../../archive/errors.ts";
import { bpfFixtures, guardsFixture, makeCoreObject, makeKernelBtf } from "../../fixtures/bpf-objects.ts";
import { makeVmlinux } from "../../fixtures/vmlinux.ts";
import { rejection } from "../../helpers/rejection.ts";

// libbpf's short kind names in `bpftool -d` lines (core_relo_kind_str in relo_core.c).
const libbpfKindNames = [
  "byte_off",
  "byte_sz",
  "field_exists",
  "signed",
  "lshift_u64",
  "rshift_u64",
  "local_type_id",
  "target_type_id",
  "type_exists",
  "type_size",
  "enumval_exists",
  "enumval_value",
  "type_matches",
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-bpf-object-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("loadBpfObject", () => {
  it("lists the kprobe object's BPF_CORE_READ chain: real_parent, then tgid, then children.next", async () => {
    const object = await loadBpfObject(await makeCoreObject(dir, "kprobe"));
    expect(
      object.relocations.map(({ section, index, kindName, accessString }) => [section, index, kindName, accessString]),
    ).toEqual([
      ["kprobe/do_exit", 0, "FIELD_BYTE_OFFSET", "0:4"],
      ["kprobe/do_exit", 1, "FIELD_BYTE_OFFSET", "0:2"],
      ["kprobe/do_exit", 2, "FIELD_BYTE_OFFSET", "0:5:0"],
    ]);
    const root = object.btf.types[object.relocations[0]!.typeId - 1]!;
    expect([root.kind, root.name]).toEqual(["STRUCT", "task_struct"]);
  });

  it("decodes every relocation of every fixture as libbpf does: same sections, indexes, kinds, roots and access strings", async () => {
    const kernel = await makeKernelBtf(dir, "normal");
    for (const fixture of bpfFixtures) {
      const path = await makeCoreObject(dir, fixture);
      const { relocations } = await loadBpfObject(path);
      const { stderr } = await execa("bpftool", ["-d", "gen", "min_core_btf", kernel, join(dir, "min.btf"), path]);
      const specLines = stderr.split("\n").filter((line) => /relo #\d+: </.test(line));
      expect(specLines).toHaveLength(relocations.length);
      for (const relocation of relocations) {
        const prefix = `libbpf: prog '${relocation.section}': relo #${relocation.index}: <${libbpfKindNames[relocation.kind]}> [${relocation.typeId}] `;
        const line = specLines.find((candidate) => candidate.startsWith(prefix));
        expect(line, `${fixture} ${relocation.section} #${relocation.index}`).toBeDefined();
        if (relocation.kind <= 5) expect(line).toContain(`(${relocation.accessString} @ offset`);
      }
    }
  });

  it("names the program of each relocation from the symbol table, as llvm-objdump places its instruction", async () => {
    const path = await makeCoreObject(dir, guardsFixture);
    const { relocations } = await loadBpfObject(path);
    // Each `<name>:` label opens a function; instruction numbers are 8-byte slots, as insnOff counts bytes / 8.
    const { stdout } = await execa("llvm-objdump", ["-d", "--no-show-raw-insn", path]);
    const starts: { slot: number; name: string }[] = [];
    for (const match of stdout.matchAll(/^([0-9a-f]{16}) <(\w+)>:\n\s+(\d+):/gm)) {
      if (!match[2]!.startsWith("LBB")) starts.push({ slot: Number(match[3]), name: match[2]! });
    }
    const programAt = (insnOff: number) => starts.filter((start) => start.slot <= insnOff / 8).at(-1)!.name;
    expect(new Set(relocations.map((relocation) => relocation.program))).toEqual(
      new Set(["field_guard", "unguarded", "flavor_guard", "task_state", "type_guard", "type_present", "enum_guard"]),
    );
    for (const relocation of relocations)
      expect(relocation.program, `#${relocation.index}`).toBe(programAt(relocation.insnOff));
  });

  it("refuses an ELF for another machine, naming the file and its e_machine", async () => {
    const path = await makeVmlinux(join(dir, "x86.o"));
    const error = await rejection(loadBpfObject(path));
    expect(error).toBeInstanceOf(FormatError);
    const hostMachine = machine() === "aarch64" ? 183 : 62;
    expect(error.message).toBe(`${path}: not a BPF object: ELF e_machine is ${hostMachine}, expected 247 (EM_BPF)`);
  });

  it("refuses a BPF object without .BTF.ext, and one without either section, naming what is missing", async () => {
    const object = await makeCoreObject(dir, "tcprtt");
    const noExt = join(dir, "no-ext.o");
    await execa("llvm-objcopy", ["--remove-section=.BTF.ext", object, noExt]);
    expect((await rejection(loadBpfObject(noExt))).message).toBe(`${noExt}: BPF object has no .BTF.ext section`);
    const neither = join(dir, "neither.o");
    await execa("llvm-objcopy", ["--remove-section=.BTF.ext", "--remove-section=.BTF", object, neither]);
    expect((await rejection(loadBpfObject(neither))).message).toBe(
      `${neither}: BPF object has no .BTF and .BTF.ext sections`,
    );
  });

  it("refuses a file that is not ELF at all, naming it", async () => {
    const path = new URL("../../fixtures/bpf/tcprtt.c", import.meta.url).pathname;
    const error = await rejection(loadBpfObject(path));
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toMatch(new RegExp(`^${path}: not an ELF file`));
  });
});
