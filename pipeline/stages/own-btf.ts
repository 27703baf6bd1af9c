// kernelsWithBtf "own": the vmlinux's `.BTF` section, written out as the kernel's BTF. These are
// the bytes /sys/kernel/btf/vmlinux gives on a machine running that kernel: exact by definition,
// and a read of a few MB instead of a pahole run.
import { writeFile } from "node:fs/promises";
import { readElfSection } from "../../archive/elf.ts";

/** When a kernel of an "own" chain is converted: writes its `.BTF` to `outBtf`; false when it has none (pahole converts it). */
export async function copyOwnBtf(vmlinux: string, outBtf: string): Promise<boolean> {
  const section = await readElfSection(vmlinux, ".BTF");
  if (section === undefined || section.length === 0) return false;
  await writeFile(outBtf, section, { flag: "wx" });
  return true;
}
