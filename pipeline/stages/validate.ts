// Validate stage: a BTF is published only when two independent parsers accept it (ours and
// bpftool's), it holds none of the kinds older libbpf refuses (FLOAT, DECL_TAG, TYPE_TAG,
// ENUM64) that its kernel predates, and, when the kernel shipped its own BTF,
// every named struct/union has the same layout in both.
import { readFile } from "node:fs/promises";
import { compareLayouts, kindSupport, kindsUnsupportedBy, btfKindNames, parseBtf, structLayouts, type BtfKind, type BtfSpec } from "../../archive/btf/index.ts";
import { readElfSection } from "../../archive/elf.ts";
import { FormatError } from "../errors.ts";
import { bpftoolParses } from "../tools/bpftool.ts";

export interface ValidationResult {
  /** The vmlinux carried a `.BTF` section and our output matched it. */
  kernelHasBtf: boolean;
  /** Kind names present in the output, sorted. */
  kinds: string[];
}

const kindByName = new Map(Object.entries(btfKindNames).map(([number, name]) => [name as string, Number(number) as BtfKind]));

function parseOrExplain(bytes: Uint8Array, what: string, kernel: string): BtfSpec {
  try {
    return parseBtf(bytes);
  } catch (cause) {
    throw new FormatError(`${what} does not parse: ${(cause as Error).message}`, { kernel, cause });
  }
}

/** When pahole has written `btfPath`: checks it, against the vmlinux's own `.BTF` when there is one. */
export async function validateBtf(
  btfPath: string,
  options: { kernel: string; kernelRelease: string; vmlinux: string; signal?: AbortSignal },
): Promise<ValidationResult> {
  const { kernel } = options;
  const ours = parseOrExplain(await readFile(btfPath), "the BTF pahole wrote", kernel);
  const kindNames = [...new Set(ours.types.map((type) => type.kind))].sort();
  // Only the kinds older libbpf refuses count: a vmlinux's BTF is read by libbpf in user space
  // (CO-RE, btf_custom_path), never loaded into the kernel it describes, so the BTF of a 3.10 or
  // 4.14 kernel (CentOS 7, Amazon Linux 2, UEK 5) holds INT..FUNC_PROTO as BTFHub's do.
  const checked = kindNames.map((name) => kindByName.get(name)!).filter((kind) => kindSupport[kind].libbpf !== undefined);
  const tooNew = kindsUnsupportedBy(checked, options.kernelRelease);
  if (tooNew.length > 0) {
    throw new FormatError(`the BTF holds kinds kernel ${options.kernelRelease} does not understand: ${tooNew.map((kind) => btfKindNames[kind]).join(", ")}`, {
      kernel,
      hint: "fix pahole.flags in the config, or upgrade pahole so btfmill can switch those kinds off",
    });
  }
  await bpftoolParses(btfPath, { kernel, signal: options.signal });

  const ownSection = await readElfSection(options.vmlinux, ".BTF");
  if (!ownSection) return { kernelHasBtf: false, kinds: kindNames };
  const reference = parseOrExplain(ownSection, "the kernel's own .BTF section", kernel);
  const mismatches = compareLayouts(structLayouts(ours), structLayouts(reference));
  if (mismatches.length > 0) {
    const shown = mismatches.slice(0, 5).join("; ");
    throw new FormatError(`struct layouts differ from the kernel's own BTF in ${mismatches.length} place(s): ${shown}`, {
      kernel,
      hint: "pahole misread this kernel's DWARF; try a newer pahole (dwarves)",
    });
  }
  return { kernelHasBtf: true, kinds: kindNames };
}
