// Validate stage: a BTF is published only when two independent parsers accept it (ours and
// bpftool's), it holds none of the kinds older libbpf refuses (FLOAT, DECL_TAG, TYPE_TAG,
// ENUM64) that its kernel predates, and, when the kernel shipped its own BTF,
// every named struct/union has the same layout in both.
//
// The kernel's own .BTF does not depend on pahole's output, so the caller may read it while
// pahole runs (loadKernelReference).
import { readFile } from "node:fs/promises";
import { compareLayouts, kindSupport, kindsUnsupportedBy, btfKindNames, parseBtf, structLayouts, type BtfKind, type BtfSpec, type StructLayout } from "../../archive/btf/index.ts";
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

// Only the kinds older libbpf refuses count: a vmlinux's BTF is read by libbpf in user space
// (CO-RE, btf_custom_path), never loaded into the kernel it describes, so the BTF of a 3.10 or
// 4.14 kernel (CentOS 7, Amazon Linux 2, UEK 5) holds INT..FUNC_PROTO as BTFHub's do.
function checkKinds(spec: BtfSpec, kernelRelease: string, kernel: string): string[] {
  const kindNames = [...new Set(spec.types.map((type) => type.kind))].sort();
  const checked = kindNames.map((name) => kindByName.get(name)!).filter((kind) => kindSupport[kind].libbpf !== undefined);
  const tooNew = kindsUnsupportedBy(checked, kernelRelease);
  if (tooNew.length > 0) {
    throw new FormatError(`the BTF holds kinds kernel ${kernelRelease} does not understand: ${tooNew.map((kind) => btfKindNames[kind]).join(", ")}`, {
      kernel,
      hint: "fix pahole.flags in the config, or upgrade pahole so btfmill can switch those kinds off",
    });
  }
  return kindNames;
}

// Parses pahole's output and checks its kinds; returns the layouts only when they will be compared.
function checkOurs(bytes: Buffer, kernelRelease: string, kernel: string, withLayouts: boolean): { kinds: string[]; layouts?: Map<string, StructLayout[]> } {
  const ours = parseOrExplain(bytes, "the BTF pahole wrote", kernel);
  const kinds = checkKinds(ours, kernelRelease, kernel);
  return withLayouts ? { kinds, layouts: structLayouts(ours) } : { kinds };
}

/** A kernel's own `.BTF` section, as read from its vmlinux; undefined when it carries none. */
export type KernelReference = Buffer | undefined;

/** When a vmlinux is on disk (as soon as pahole starts on it): its own `.BTF`, to check pahole's output against. */
export async function loadKernelReference(vmlinux: string): Promise<KernelReference> {
  // Only the bytes (5 MB) are read ahead: parsed, they would hold some 40 MB for as long as
  // pahole runs, once per kernel converting, where the process's RSS budget is 250 MB.
  return readElfSection(vmlinux, ".BTF");
}

/** When pahole has written `btfPath`: checks it, against the vmlinux's own `.BTF` when there is one. */
export async function validateBtf(
  btfPath: string,
  options: { kernel: string; kernelRelease: string; vmlinux: string; reference?: Promise<KernelReference>; signal?: AbortSignal },
): Promise<ValidationResult> {
  const { kernel } = options;
  // bpftool reads the file in a process of its own while ours parses it here.
  const bpftool = bpftoolParses(btfPath, { kernel, signal: options.signal });
  // Its verdict is awaited below; a failure before then must not count as unhandled.
  bpftool.catch(() => {});
  let checked: { kinds: string[]; layouts?: Map<string, StructLayout[]> };
  let ownSection: KernelReference;
  try {
    ownSection = await (options.reference ?? loadKernelReference(options.vmlinux));
    checked = checkOurs(await readFile(btfPath), options.kernelRelease, kernel, ownSection !== undefined);
  } catch (error) {
    // Our own verdict comes first; bpftool is not left running behind it.
    await bpftool.catch(() => {});
    throw error;
  }
  await bpftool;

  if (ownSection === undefined) return { kernelHasBtf: false, kinds: checked.kinds };
  // One parsed spec at a time: ours is down to its layouts before the kernel's is parsed.
  const reference = structLayouts(parseOrExplain(ownSection, "the kernel's own .BTF section", kernel));
  const mismatches = compareLayouts(checked.layouts!, reference);
  if (mismatches.length > 0) {
    const shown = mismatches.slice(0, 5).join("; ");
    throw new FormatError(`struct layouts differ from the kernel's own BTF in ${mismatches.length} place(s): ${shown}`, {
      kernel,
      hint: "pahole misread this kernel's DWARF; try a newer pahole (dwarves)",
    });
  }
  return { kernelHasBtf: true, kinds: checked.kinds };
}
