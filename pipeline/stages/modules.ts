// Modules stage: each selected module's debug file (DWARF) -> split BTF against the kernel's
// converted BTF, with the kernel's own pahole flags, so module and base agree on every kind.
// pahole's split output does not depend on anything but its inputs and flags, so it is as
// reproducible as the kernel's.
import { join } from "node:path";
import pLimit from "p-limit";
import { hasDwarf } from "../../archive/elf.ts";
import { describeError, FormatError } from "../../archive/errors.ts";
import { digestFile, type FileDigest } from "../../archive/file-digest.ts";
import type { ExtractedModule } from "../../distros/packages/module-members.ts";
import { freeCores, runPahole } from "../tools/pahole.ts";
import { openModuleBases, validateModuleBtf, type ModuleBases, type ModuleValidation } from "./validate.ts";

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

export interface ConvertedModules {
  /** Sorted by name. */
  converted: ConvertedModule[];
  /** By name, why a module was left out (only when the selection tolerates it: `"all"`). */
  failed: Record<string, string>;
}

/**
 * When a kernel's BTF is converted and its package checked: converts and validates each module.
 * A module that fails fails the kernel when it was named; under `tolerant` (the selection is
 * `"all"`, thousands of modules nobody picked one by one) it is recorded as failed and the others go on.
 */
export async function convertModules(
  modules: readonly ExtractedModule[],
  options: ModuleOptions & { tolerant: boolean },
): Promise<ConvertedModules> {
  const bases = await openModuleBases(options);
  // A module takes pahole a fraction of a second on one core: modules run side by side instead.
  const limit = pLimit(freeCores());
  const failed: Record<string, string> = {};
  const results = await Promise.all(
    modules.map((module) =>
      limit(async () => {
        try {
          return await convertModule(module, bases, options);
        } catch (error) {
          if (!options.tolerant || options.signal?.aborted) throw error;
          failed[module.name] = describeError(error);
          return undefined;
        }
      }),
    ),
  );
  const converted = results.filter((result) => result !== undefined);
  return {
    converted,
    failed: Object.fromEntries(Object.entries(failed).sort(([a], [b]) => a.localeCompare(b))),
  };
}

async function convertModule(
  module: ExtractedModule,
  bases: ModuleBases,
  options: ModuleOptions,
): Promise<ConvertedModule> {
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
  const validation = await validateModuleBtf(path, bases, {
    kernel,
    kernelRelease: options.kernelRelease,
    module: module.name,
    base: options.base,
    ko: module.path,
    signal: options.signal,
  });
  return { name: module.name, path, btf: await digestFile(path), ...validation };
}
