// kernelsWithBtf "own": the vmlinux's `.BTF` section, written out as the kernel's BTF. These are
// the bytes /sys/kernel/btf/vmlinux gives on a machine running that kernel: exact by definition,
// and a read of a few MB instead of a pahole run.
import { readFile, writeFile } from "node:fs/promises";
import { readElfSection } from "../../archive/elf.ts";
import { FormatError } from "../../archive/errors.ts";
import { looksLikeBtf } from "../../distros/packages/btf-window.ts";

/** When a kernel of an "own" chain is converted: writes its `.BTF` to `outBtf`; false when it has none (pahole converts it). */
export async function copyOwnBtf(vmlinux: string, outBtf: string): Promise<boolean> {
  const section = await readElfSection(vmlinux, ".BTF");
  if (section === undefined || section.length === 0) return false;
  await writeFile(outBtf, section, { flag: "wx" });
  return true;
}

/**
 * When the fetch stopped at the end of `.BTF` (`btfOnly`): `section` holds the bytes System.map
 * placed; they are published only when they read as one whole BTF blob (magic, lengths adding up
 * to the section's size). validateBtf then parses them with our reader and bpftool.
 */
export async function takeOwnBtf(section: string, outBtf: string, kernel: string): Promise<void> {
  const bytes = await readFile(section);
  if (!looksLikeBtf(bytes)) {
    throw new FormatError(`the ${bytes.length} bytes System.map places as the vmlinux's .BTF are no whole BTF`, {
      kernel,
      hint: 'System.map and the vmlinux disagree; set kernelsWithBtf to "all" for this source',
    });
  }
  await writeFile(outBtf, bytes, { flag: "wx" });
}
