// Entry points from a file: a raw .btf (pahole --btf_encode_detached, /sys/kernel/btf/vmlinux) or
// the .BTF section of an ELF (a vmlinux built with CONFIG_DEBUG_INFO_BTF, a BPF object).
import { readFile } from "node:fs/promises";
import { FormatError } from "../errors.ts";
import { readElfSection } from "../elf.ts";
import { parseBtf } from "./parse.ts";
import type { BtfSpec } from "./types.ts";

/** When a raw BTF file is on disk: its decoded spec. */
export async function loadBtf(path: string): Promise<BtfSpec> {
  return parseIn(path, await readFile(path));
}

/** When the BTF travels inside an ELF: decodes its `.BTF` section, which must exist. */
export async function loadElfBtf(path: string): Promise<BtfSpec> {
  const section = await readElfSection(path, ".BTF");
  if (section === undefined) throw new FormatError(`${path}: ELF has no .BTF section`);
  return parseIn(`${path} (.BTF)`, section);
}

function parseIn(where: string, bytes: Uint8Array): BtfSpec {
  try {
    return parseBtf(bytes);
  } catch (cause) {
    if (cause instanceof FormatError) throw new FormatError(`${where}: ${cause.message}`, { cause });
    throw cause;
  }
}
