import { copyFile, mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { machine, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBtf } from "../../archive/btf/parse.ts";
import { hasDwarf, hasElfSection, readElfMachine, readElfSection } from "../../archive/elf.ts";
import { FormatError } from "../../archive/errors.ts";
import { makeBpfObject } from "../fixtures/all-kinds.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";

const kernelSource = new URL("../fixtures/vmlinux/kernel.c", import.meta.url).pathname;

let dir: string;
let withBtf: string;
let plain: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-elf-"));
  withBtf = await makeVmlinux(join(dir, "vmlinux-btf"), { withBtf: true });
  plain = await makeVmlinux(join(dir, "vmlinux"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function dumpSection(path: string, name: string): Promise<Buffer> {
  const out = join(dir, `dump-${Math.random().toString(36).slice(2)}`);
  await execa("llvm-objcopy", [`--dump-section=${name}=${out}`, path, join(dir, "scratch.o")]);
  return readFile(out);
}

async function patched(source: string, name: string, patch: (bytes: Buffer) => void): Promise<string> {
  const bytes = await readFile(source);
  patch(bytes);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function expectFormatError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(FormatError);
  expect((error as Error).message).toMatch(message);
}

describe("ELF sections", () => {
  it("reads the .BTF section of a vmlinux built with BTF, and it parses", async () => {
    const section = await readElfSection(withBtf, ".BTF");
    expect(section).toEqual(await dumpSection(withBtf, ".BTF"));
    expect(parseBtf(section!).types.some((type) => type.kind === "STRUCT" && type.name === "task_struct")).toBe(true);
    expect(await hasElfSection(withBtf, ".BTF")).toBe(true);
  });

  it("answers undefined and false for a section the ELF lacks", async () => {
    expect(await readElfSection(plain, ".BTF")).toBeUndefined();
    expect(await hasElfSection(plain, ".BTF")).toBe(false);
  });

  it("tells an ELF with DWARF from one built without -g", async () => {
    expect(await hasDwarf(plain)).toBe(true);
    expect(await hasDwarf(await makeVmlinux(join(dir, "no-dwarf"), { withoutDwarf: true }))).toBe(false);
  });

  it("returns an empty buffer for a NOBITS section such as .bss", async () => {
    expect(await readElfSection(plain, ".bss")).toEqual(Buffer.alloc(0));
  });

  it.each([
    ["ELF32 little-endian", "i386-linux-gnu"],
    ["ELF32 big-endian", "powerpc-linux-gnu"],
    ["ELF64 big-endian", "s390x-linux-gnu"],
  ])("reads %s (clang -target %s) as llvm-objcopy does", async (_label, target) => {
    const object = join(dir, `kernel-${target}.o`);
    await execa("clang", ["-target", target, "-g", "-c", "-o", object, kernelSource]);
    for (const name of [".debug_info", ".debug_str", ".text"]) {
      expect(await readElfSection(object, name)).toEqual(await dumpSection(object, name));
    }
    expect(await hasDwarf(object)).toBe(true);
  });

  it("reads the big-endian .BTF of a bpfeb object", async () => {
    const object = await makeBpfObject(join(dir, "all-kinds.bpfeb.o"), { bigEndian: true });
    expect(parseBtf((await readElfSection(object, ".BTF"))!).header.littleEndian).toBe(false);
  });

  it.each(["zlib", "zstd"])("decompresses a %s-compressed (SHF_COMPRESSED) .debug_info", async (method) => {
    const compressed = join(dir, `vmlinux-${method}`);
    await execa("objcopy", [`--compress-debug-sections=${method}`, plain, compressed]);
    expect(await readElfSection(compressed, ".debug_info")).toEqual(await readElfSection(plain, ".debug_info"));
  });

  it("reads e_machine: the host's for the gcc-built vmlinux, 247 for little- and big-endian BPF objects", async () => {
    expect(await readElfMachine(plain)).toBe(machine() === "aarch64" ? 183 : 62);
    expect(await readElfMachine(await makeBpfObject(join(dir, "machine.bpf.o")))).toBe(247);
    expect(await readElfMachine(await makeBpfObject(join(dir, "machine.bpfeb.o"), { bigEndian: true }))).toBe(247);
  });

  it("counts an old GNU .zdebug_info as DWARF", async () => {
    const gnu = join(dir, "vmlinux-zlib-gnu");
    await execa("objcopy", ["--compress-debug-sections=zlib-gnu", plain, gnu]);
    expect(await hasDwarf(gnu)).toBe(true);
  });

  it("follows extended section numbering: e_shnum 0 and e_shstrndx SHN_XINDEX point at section 0", async () => {
    const extended = await patched(plain, "vmlinux-xindex", (bytes) => {
      const shoff = Number(bytes.readBigUInt64LE(0x28));
      const count = bytes.readUInt16LE(0x3c);
      const names = bytes.readUInt16LE(0x3e);
      bytes.writeUInt16LE(0, 0x3c);
      bytes.writeUInt16LE(0xffff, 0x3e);
      bytes.writeBigUInt64LE(BigInt(count), shoff + 32);
      bytes.writeUInt32LE(names, shoff + 40);
    });
    expect(await readElfSection(extended, ".debug_info")).toEqual(await readElfSection(plain, ".debug_info"));
  });

  it("reads one section of a 5 GiB (sparse) file without reading the rest", async () => {
    const huge = join(dir, "vmlinux-huge");
    await copyFile(withBtf, huge);
    await truncate(huge, 5 * 2 ** 30);
    const section = await readElfSection(huge, ".BTF");
    expect(section).toEqual(await readElfSection(withBtf, ".BTF"));
  });
});

describe("malformed ELF", () => {
  it("rejects an empty file and a file of garbage as not ELF, naming the path", async () => {
    const empty = join(dir, "empty");
    await writeFile(empty, "");
    await expectFormatError(readElfSection(empty, ".BTF"), /empty: not an ELF file/);
    const garbage = join(dir, "garbage");
    await writeFile(garbage, Buffer.from("GARBAGE!".repeat(16)));
    await expectFormatError(hasDwarf(garbage), /garbage: not an ELF file: bytes at offset 0 are 47415242/);
  });

  it("rejects an ELF header cut short", async () => {
    const short = join(dir, "short");
    await writeFile(short, (await readFile(plain)).subarray(0, 40));
    const message = /short: ELF header truncated: file is 40 bytes, the header needs 64$/;
    await expectFormatError(readElfSection(short, ".BTF"), message);
  });

  it("rejects an ELF whose section header table is cut off", async () => {
    const cut = join(dir, "cut");
    const bytes = await readFile(plain);
    await writeFile(cut, bytes.subarray(0, bytes.length - 100));
    await expectFormatError(readElfSection(cut, ".BTF"), /lies beyond the end of the \d+-byte file/);
  });

  it("rejects a section whose data lies past the end of the file", async () => {
    const bad = await patched(plain, "bad-offset", (bytes) => {
      const shoff = Number(bytes.readBigUInt64LE(0x28));
      bytes.writeBigUInt64LE(1n << 40n, shoff + 64 + 24); // section 1's sh_offset
    });
    await expectFormatError(readElfSection(bad, ".text"), /section 1 \[1099511627776, \d+\) lies beyond the end/);
  });

  it("rejects an unknown ELF class", async () => {
    const bad = await patched(plain, "bad-class", (bytes) => {
      bytes[4] = 7;
    });
    await expectFormatError(hasElfSection(bad, ".BTF"), /unknown ELF class 7 at offset 4/);
  });

  it("rejects a section-name offset past the name table", async () => {
    const bad = await patched(plain, "bad-name", (bytes) => {
      const shoff = Number(bytes.readBigUInt64LE(0x28));
      bytes.writeUInt32LE(0xfffffff, shoff + 64); // section 1's sh_name
    });
    await expectFormatError(hasDwarf(bad), /section 1 name offset 268435455 is past the \d+-byte section-name table/);
  });

  it.skipIf(process.platform !== "linux")("closes the file it opened when the ELF is malformed", async () => {
    const garbage = join(dir, "garbage-close");
    await writeFile(garbage, "nope");
    const before = (await readdir("/proc/self/fd")).length;
    for (let attempt = 0; attempt < 20; attempt++) {
      await expectFormatError(readElfSection(garbage, ".BTF"), /not an ELF file/);
    }
    expect((await readdir("/proc/self/fd")).length).toBe(before);
  });
});
