// Validate stage: a BTF is published only when two independent parsers accept it (ours and
// bpftool's), it holds none of the kinds older libbpf refuses (FLOAT, DECL_TAG, TYPE_TAG,
// ENUM64) that its kernel predates, and, when the kernel shipped its own BTF,
// every named struct/union has the same layout in both.
//
// The kernel's own .BTF is read only now, after pahole's BTF is down to its layouts, not while
// pahole runs: its 5 MB would be held once per kernel converting, in a process whose RSS budget
// is 250 MB, to save a read from the page cache.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  compareLayouts,
  kindSupport,
  kindsUnsupportedBy,
  btfKindNames,
  surveyBtf,
  type BtfKind,
  type BtfSurvey,
} from "../../archive/btf/index.ts";
import { hasElfSection, readElfSection } from "../../archive/elf.ts";
import { FormatError } from "../../archive/errors.ts";
import { bpftoolParses } from "../tools/bpftool.ts";
import { joinedLayouts, surveyBase, surveySplit, type ModuleSurvey, type SurveyedBase } from "./module-layouts.ts";

export interface ValidationResult {
  /** The vmlinux carried a `.BTF` section and our output matched it. */
  kernelHasBtf: boolean;
  /** Kind names present in the output, sorted. */
  kinds: string[];
  /** The kernel's own `.BTF`, when it has one: its digest, and how many named structs/unions matched ours. */
  kernelBtf?: { sha256: string; size: number; layouts: number };
}

const kindByName = new Map(
  Object.entries(btfKindNames).map(([number, name]) => [name as string, Number(number) as BtfKind]),
);

// One pass over the BTF that keeps only kinds and, with `layouts`, struct layouts (archive/btf/survey.ts
// says why); the bytes are freed after it, whatever its verdict.
function surveyOrExplain(bytes: Buffer, what: string, kernel: string, layouts: boolean): BtfSurvey {
  try {
    return surveyBtf(bytes, { layouts });
  } catch (cause) {
    throw new FormatError(`${what} does not parse: ${(cause as Error).message}`, { kernel, cause });
  } finally {
    release(bytes);
  }
}

// A BTF's 5 MB are garbage once surveyed, but V8 frees a Buffer only when a full collection finds
// it dead: in a batch, the files of kernels validated one after the other stayed until the next
// download forced one, on top of each other. Detaching the ArrayBuffer frees its memory now.
function release(bytes: Buffer): void {
  if (bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength)
    bytes.buffer.transfer(0);
}

// Only the kinds older libbpf refuses count: a vmlinux's BTF is read by libbpf in user space
// (CO-RE, btf_custom_path), never loaded into the kernel it describes, so the BTF of a 3.10 or
// 4.14 kernel (CentOS 7, Amazon Linux 2, UEK 5) holds INT..FUNC_PROTO as BTFHub's do.
function checkKinds(kindNames: string[], kernelRelease: string, kernel: string): void {
  const checked = kindNames
    .map((name) => kindByName.get(name)!)
    .filter((kind) => kindSupport[kind].libbpf !== undefined);
  const tooNew = kindsUnsupportedBy(checked, kernelRelease);
  if (tooNew.length > 0) {
    throw new FormatError(
      `the BTF holds kinds kernel ${kernelRelease} does not understand: ${tooNew.map((kind) => btfKindNames[kind]).join(", ")}`,
      {
        kernel,
        hint: "fix pahole.flags in the config, or upgrade pahole so btfmill can switch those kinds off",
      },
    );
  }
}

// Surveys pahole's output and checks its kinds; returns the layouts only when they will be compared.
function checkOurs(bytes: Buffer, kernelRelease: string, kernel: string, withLayouts: boolean): BtfSurvey {
  const ours = surveyOrExplain(bytes, "the BTF pahole wrote", kernel, withLayouts);
  checkKinds(ours.kinds, kernelRelease, kernel);
  return ours;
}

/** When pahole has written `btfPath`: checks it, against the vmlinux's own `.BTF` when there is one. */
export async function validateBtf(
  btfPath: string,
  options: { kernel: string; kernelRelease: string; signal?: AbortSignal } & (
    | { vmlinux: string; own?: false }
    // The kernel's own `.BTF` (kernelsWithBtf "own"): there is nothing to compare it with, so no vmlinux is read.
    | { own: true }
  ),
): Promise<ValidationResult> {
  const { kernel } = options;
  // bpftool reads the file in a process of its own while ours parses it here.
  const bpftool = bpftoolParses(btfPath, { kernel, signal: options.signal });
  // Its verdict is awaited below; a failure before then must not count as unhandled.
  bpftool.catch(() => {});
  let checked: BtfSurvey;
  let kernelHasBtf: boolean;
  try {
    kernelHasBtf = options.own === true || (await hasElfSection(options.vmlinux, ".BTF"));
    // The kernel's own .BTF needs no comparison with itself.
    checked = checkOurs(await readFile(btfPath), options.kernelRelease, kernel, kernelHasBtf && options.own !== true);
  } catch (error) {
    // Our own verdict comes first; bpftool is not left running behind it.
    await bpftool.catch(() => {});
    throw error;
  }
  await bpftool;

  if (!kernelHasBtf || options.own === true) return { kernelHasBtf, kinds: checked.kinds };
  // One BTF in memory at a time: ours is down to its layouts before the kernel's is read.
  const ownSection = (await readElfSection(options.vmlinux, ".BTF")) ?? Buffer.alloc(0);
  // Its digest lets a reader of the manifest see whether pahole wrote the very bytes the kernel's build did.
  const ownDigest = { sha256: createHash("sha256").update(ownSection).digest("hex"), size: ownSection.byteLength };
  const reference = surveyOrExplain(ownSection, "the kernel's own .BTF section", kernel, true).layouts!;
  const mismatches = compareLayouts(checked.layouts!, reference);
  if (mismatches.length > 0) {
    const shown = mismatches.slice(0, 5).join("; ");
    throw new FormatError(
      `struct layouts differ from the kernel's own BTF in ${mismatches.length} place(s): ${shown}`,
      {
        kernel,
        hint: "pahole misread this kernel's DWARF; try a newer pahole (dwarves)",
      },
    );
  }
  return { kernelHasBtf: true, kinds: checked.kinds, kernelBtf: { ...ownDigest, layouts: reference.size } };
}

export interface ModuleValidation {
  /** Types the module's split BTF adds to the kernel's. */
  types: number;
  /** The module's own `.BTF` (split against the kernel's own), when it has one, and how many struct/union names it defines, each matched by ours. */
  ownBtf?: { sha256: string; size: number; layouts: number };
}

/** A kernel's two bases, each surveyed once for all its modules: pahole's BTF, and the vmlinux's own `.BTF` when a module needs it. */
export interface ModuleBases {
  ours: SurveyedBase;
  own(): Promise<SurveyedBase | undefined>;
}

/** When a kernel's modules are about to be validated: reads and surveys pahole's BTF now, the vmlinux's own `.BTF` on first use. */
export async function openModuleBases(options: {
  kernel: string;
  base: string;
  vmlinux: string;
}): Promise<ModuleBases> {
  const { kernel } = options;
  const ours = surveyBaseOrExplain(await readFile(options.base), "the kernel's BTF (the modules' base)", kernel);
  let own: Promise<SurveyedBase | undefined> | undefined;
  return {
    ours,
    own: () => {
      own ??= readElfSection(options.vmlinux, ".BTF").then((section) =>
        section === undefined ? undefined : surveyBaseOrExplain(section, "the kernel's own .BTF section", kernel),
      );
      return own;
    },
  };
}

function surveyBaseOrExplain(bytes: Buffer, what: string, kernel: string): SurveyedBase {
  try {
    return surveyBase(bytes);
  } catch (cause) {
    throw new FormatError(`${what} does not parse: ${(cause as Error).message}`, { kernel, cause });
  }
}

function surveySplitOrExplain(bytes: Buffer, base: SurveyedBase, what: string, kernel: string): ModuleSurvey {
  try {
    return surveySplit(bytes, base);
  } catch (cause) {
    throw new FormatError(`${what} does not parse against its base: ${(cause as Error).message}`, { kernel, cause });
  }
}

/**
 * When pahole has written a module's split BTF against the kernel's: bpftool and our reader must
 * read it against that base, with kinds the kernel understands; when the .ko carries its own
 * `.BTF`, every struct/union name the module defines has the same layouts, in kernel and module
 * joined, as in the kernel's own `.BTF` joined with the module's.
 */
export async function validateModuleBtf(
  moduleBtf: string,
  bases: ModuleBases,
  options: {
    kernel: string;
    kernelRelease: string;
    module: string;
    base: string;
    ko: string;
    signal?: AbortSignal;
  },
): Promise<ModuleValidation> {
  const { kernel, module } = options;
  const bpftool = bpftoolParses(moduleBtf, { kernel, signal: options.signal, base: options.base });
  bpftool.catch(() => {});
  let ours: ModuleSurvey;
  let ownSection: Buffer | undefined;
  try {
    ownSection = await readElfSection(options.ko, ".BTF");
    ours = surveySplitOrExplain(await readFile(moduleBtf), bases.ours, `module ${module}'s split BTF`, kernel);
    checkKinds(ours.kinds, options.kernelRelease, kernel);
  } catch (error) {
    await bpftool.catch(() => {});
    throw error;
  }
  await bpftool;
  if (ownSection === undefined) return { types: ours.types };
  const ownDigest = { sha256: createHash("sha256").update(ownSection).digest("hex"), size: ownSection.byteLength };
  const kernelOwn = await bases.own();
  if (kernelOwn === undefined) {
    throw new FormatError(`module ${module} carries its own .BTF but the vmlinux has none to be its base`, {
      kernel,
      hint: "the package mixes modules and a vmlinux of different builds",
    });
  }
  const theirs = surveySplitOrExplain(ownSection, kernelOwn, `module ${module}'s own .BTF`, kernel);
  const names = new Set([...ours.layouts.keys(), ...theirs.layouts.keys()]);
  const reference = joinedLayouts(theirs, kernelOwn, names);
  const mismatches = compareLayouts(joinedLayouts(ours, bases.ours, names), reference);
  if (mismatches.length > 0) {
    throw new FormatError(
      `module ${module}: struct layouts differ from its own BTF in ${mismatches.length} place(s): ${mismatches.slice(0, 5).join("; ")}`,
      {
        kernel,
        hint: "pahole misread this module's DWARF; try a newer pahole (dwarves)",
      },
    );
  }
  return { types: ours.types, ownBtf: { ...ownDigest, layouts: theirs.layouts.size } };
}
