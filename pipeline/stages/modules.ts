// Modules stage: each selected module's debug file (DWARF) -> split BTF against the kernel's
// converted BTF, with the kernel's own pahole flags, so module and base agree on every kind.
// pahole's split output does not depend on anything but its inputs and flags, so it is as
// reproducible as the kernel's.
import { join } from "node:path";
import pLimit from "p-limit";
import { hasDwarf } from "../../archive/elf.ts";
import { FormatError } from "../../archive/errors.ts";
import { digestFile, type FileDigest } from "../../archive/file-digest.ts";
import type { ExtractedModule } from "../../distros/packages/module-members.ts";
import { freeCores, runPahole } from "../tools/pahole.ts";
import { validateModuleBtf, type ModuleValidation } from "./validate.ts";

export interface ConvertedModule extends ModuleValidation {
  name: string;
  /** `<outDir>/<name>.btf`. */
  path: string;
  btf: FileDigest;
}

export interface ModuleOptions {
  kernel: string;
  kernelRelease: string;
  /** The kernel's converted BTF, every module's base. */
  base: string;
  /** The kernel's vmlinux, whose own `.BTF` is the base of the modules' own. */
  vmlinux: string;
  /** The flags the kernel was converted with. */
  flags: readonly string[];
  outDir: string;
  signal?: AbortSignal;
}

/** When a kernel's BTF is converted and its package checked: converts and validates each module, in the order given (extracted()'s, by name). */
export async function convertModules(
  modules: readonly ExtractedModule[],
  options: ModuleOptions,
): Promise<ConvertedModule[]> {
  // A module takes pahole a fraction of a second on one core: modules run side by side instead.
  const limit = pLimit(freeCores());
  return await Promise.all(modules.map((module) => limit(() => convertModule(module, options))));
}

async function convertModule(module: ExtractedModule, options: ModuleOptions): Promise<ConvertedModule> {
  options.signal?.throwIfAborted();
  const { kernel } = options;
  if (!(await hasDwarf(module.path))) {
    throw new FormatError(`module ${module.name} has no DWARF (.debug_info): pahole has nothing to convert`, {
      kernel,
      hint: `leave ${module.name} out of the source's modules`,
    });
  }
  const path = join(options.outDir, `${module.name}.btf`);
  await runPahole(module.path, path, [...options.flags, `--btf_base=${options.base}`], {
    kernel,
    signal: options.signal,
  });
  const validation = await validateModuleBtf(path, {
    kernel,
    kernelRelease: options.kernelRelease,
    module: module.name,
    base: options.base,
    ko: module.path,
    vmlinux: options.vmlinux,
    signal: options.signal,
  });
  return { name: module.name, path, btf: await digestFile(path), ...validation };
}
