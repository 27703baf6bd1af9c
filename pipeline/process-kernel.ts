// One kernel through fetch -> convert -> validate -> store. Scratch files live in a folder of
// their own on the archive's filesystem and are gone when this returns, whatever happened.
//
// pahole starts as soon as the vmlinux is written, while the rest of the package still downloads
// and is hashed (pipeline/stages/fetch.ts, `speculative`); its BTF counts only once the package
// matched its index. The source's selected modules are converted after that, against the kernel's
// BTF, and stored beside it in one tarball (pipeline/stages/modules.ts).
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeBtfTarball, writeBtfsTarball } from "../archive/btf-tarball.ts";
import { digestFile } from "../archive/file-digest.ts";
import { noteReplacement } from "../archive/replacements.ts";
import {
  archiveTarballPath,
  btfMemberName,
  moduleMemberName,
  modulesTarballPath,
  scratchDir,
} from "../archive/layout.ts";
import type { ManifestEntry, ModulesRecord } from "../archive/manifest.ts";
import type { KernelPackage } from "../distros/types.ts";
import { keyPath } from "../archive/kernel-key.ts";
import type { PaholeConfig } from "./config.ts";
import { FetchError, FormatError, describeError } from "../archive/errors.ts";
import type { KernelStage } from "./events.ts";
import { copyOwnBtf, takeOwnBtf } from "./stages/own-btf.ts";
import { convertVmlinux } from "./stages/convert.ts";
import { fetchVmlinux, modulesDirFor } from "./stages/fetch.ts";
import { convertModules, type ConvertedModules } from "./stages/modules.ts";
import { chooseFlags, kernelVersionOf } from "./pahole-flags.ts";
import { moduleSelectionKey } from "./module-selection.ts";
import type { FetchedVmlinux } from "./stages/fetch.ts";
import { validateBtf } from "./stages/validate.ts";
import type { ValidationResult } from "./stages/validate.ts";
import type { ToolVersion } from "./tools/pahole.ts";

/** Runs `work` when a slot is free: a p-limit limiter, or a direct call when nothing is shared. */
export type Slot = <T>(work: () => Promise<T>) => Promise<T>;

export interface KernelContext {
  archiveRoot: string;
  /** Shared by the kernels of a run: at most so many fetches, and so many pahole runs, at once. */
  slots?: { fetch: Slot; convert: Slot };
  pahole: ToolVersion;
  bpftool: string;
  /** The pinned toolchain the tools came from, for the manifest; undefined for host tools. */
  toolchain?: ManifestEntry["toolchain"];
  /** Publish the vmlinux's own `.BTF` when it has one, instead of pahole's (kernelsWithBtf "own"). */
  ownBtf?: boolean;
  paholeConfig: PaholeConfig;
  signal?: AbortSignal;
  onStage: (stage: KernelStage, bytes?: number, totalBytes?: number) => void;
  now: () => Date;
}

// A full disk or quota is the host's trouble, not the package's: like network trouble, it is
// worth retrying on the next run without --retry-failed.
const hostFull = new Set(["ENOSPC", "EDQUOT"]);

function isTransient(error: unknown): boolean {
  return error instanceof FetchError || hostFull.has((error as NodeJS.ErrnoException | undefined)?.code ?? "");
}

function packageProvenance(pkg: KernelPackage): ManifestEntry["package"] {
  return { name: pkg.name, version: pkg.version, url: pkg.url, sha256: pkg.sha256, size: pkg.size, origin: pkg.origin };
}

const direct: Slot = (work) => work();

/** When a kernel is processed (and by the benchmarks): fetch, convert and validate into `scratch`, leaving `<kernel>.btf` there. */
export async function produceBtf(
  pkg: KernelPackage,
  scratch: string,
  context: Pick<KernelContext, "pahole" | "paholeConfig" | "signal" | "onStage" | "slots" | "ownBtf">,
): Promise<{
  flags: string[] | undefined;
  validation: ValidationResult;
  fetched: FetchedVmlinux<unknown>;
  modules: ConvertedModules;
}> {
  const kernel = keyPath(pkg.key);
  const vmlinux = join(scratch, "vmlinux");
  const btfPath = join(scratch, btfMemberName(pkg.key));
  const slots = context.slots ?? { fetch: direct, convert: direct };
  // Once pahole runs, the tail's download progress is reported under the stage the kernel is in.
  let stage: KernelStage | undefined;
  const enter = (next: KernelStage) => {
    stage = next;
    context.onStage(next);
  };
  // The fetch slot covers the decoding, the part that costs CPU: once the vmlinux is out, the
  // tail's download and hash go on outside it, beside pahole.
  // With modules, decoding goes on after the vmlinux (and pahole starts on it): the slot is held
  // until the reader is done, when the fetch enters its `hash` stage.
  let decoded!: () => void;
  const vmlinuxOut = new Promise<void>((resolve) => (decoded = resolve));
  let modulesOut: (() => void) | undefined;
  const decodingDone = pkg.modules === undefined ? vmlinuxOut : new Promise<void>((resolve) => (modulesOut = resolve));
  let fetching!: Promise<FetchedVmlinux<{ flags: string[] | undefined; validation: ValidationResult }>>;
  await slots.fetch(async () => {
    fetching = fetchVmlinux(pkg, vmlinux, {
      signal: context.signal,
      onProgress: (progress) => {
        if (progress.stage === "hash") modulesOut?.();
        context.onStage(stage ?? progress.stage, progress.downloadedBytes, progress.totalBytes);
      },
      ownBtf: context.ownBtf === true,
      speculative: (unverified, signal, btfOnly) => {
        decoded();
        return slots.convert(async () => {
          // A package that failed its check while this waited for a slot needs no pahole.
          signal.throwIfAborted();
          enter("convert");
          if (btfOnly) await takeOwnBtf(unverified, btfPath, kernel);
          if (btfOnly || (context.ownBtf === true && (await copyOwnBtf(unverified, btfPath)))) {
            enter("validate");
            return {
              flags: undefined,
              validation: await validateBtf(btfPath, { kernel, kernelRelease: pkg.key.kernel, signal, own: true }),
            };
          }
          const { flags } = await convertVmlinux(unverified, btfPath, {
            kernel,
            kernelRelease: pkg.key.kernel,
            pahole: context.pahole,
            config: context.paholeConfig,
            signal,
          });
          enter("validate");
          const validation = await validateBtf(btfPath, {
            kernel,
            kernelRelease: pkg.key.kernel,
            vmlinux: unverified,
            signal,
          });
          return { flags, validation };
        });
      },
    });
    await Promise.race([decodingDone, fetching.catch(() => {})]);
  });
  const fetched = await fetching;
  const produced = fetched.speculative!;
  try {
    const modules =
      fetched.modules.length === 0
        ? { converted: [], failed: {} }
        : await slots.convert(async () => {
            enter("convert");
            const outDir = join(scratch, "modules");
            await mkdir(outDir);
            return await convertModules(fetched.modules, {
              kernel,
              kernelRelease: pkg.key.kernel,
              base: btfPath,
              vmlinux,
              flags: produced.flags ?? moduleFlags(pkg, context),
              outDir,
              signal: context.signal,
              tolerant: pkg.modules === "all",
            });
          });
    return { ...produced, fetched, modules };
  } finally {
    await rm(vmlinux, { force: true });
    await rm(modulesDirFor(vmlinux), { recursive: true, force: true });
  }
}

// A kernel that kept its own `.BTF` ran no pahole: its modules take the flags pahole would have had.
function moduleFlags(pkg: KernelPackage, context: Pick<KernelContext, "pahole" | "paholeConfig">): string[] {
  const version = kernelVersionOf(pkg.key.kernel);
  if (!version) {
    throw new FormatError(`cannot tell the kernel version from release "${pkg.key.kernel}" to convert its modules`, {
      kernel: keyPath(pkg.key),
      hint: "set pahole.flags in the config to convert it anyway",
    });
  }
  return chooseFlags(context.pahole, version, context.paholeConfig);
}

// Packs the converted modules beside the kernel's tarball; the record the manifest keeps of them.
async function storeModules(
  pkg: KernelPackage,
  { converted: modules, failed }: ConvertedModules,
  missing: string[],
  archiveRoot: string,
): Promise<ModulesRecord> {
  const files = Object.fromEntries(
    modules.map((module) => [
      module.name,
      { ...module.btf, types: module.types, ...(module.ownBtf === undefined ? {} : { ownBtf: module.ownBtf }) },
    ]),
  );
  const record: ModulesRecord = {
    selected: moduleSelectionKey(pkg.modules!),
    files,
    ...(missing.length === 0 ? {} : { missing }),
    ...(Object.keys(failed).length === 0 ? {} : { failed }),
  };
  if (modules.length === 0) return record;
  const path = modulesTarballPath(pkg.key);
  const target = join(archiveRoot, path);
  await noteReplacement(archiveRoot, path);
  await writeBtfsTarball(
    modules.map((module) => ({ path: module.path, name: moduleMemberName(module.name) })),
    target,
  );
  return { tarball: { path, ...(await digestFile(target)) }, ...record };
}

/** When the orchestrator runs a planned kernel: returns its manifest entry, ok or failed, never throws. */
export async function processKernel(pkg: KernelPackage, context: KernelContext): Promise<ManifestEntry> {
  const base = { key: pkg.key, flavor: pkg.flavor, package: packageProvenance(pkg) };
  await mkdir(scratchDir(context.archiveRoot), { recursive: true });
  const scratch = await mkdtemp(join(scratchDir(context.archiveRoot), "kernel-"));
  try {
    const btfPath = join(scratch, btfMemberName(pkg.key));
    const { flags, validation, modules, fetched } = await produceBtf(pkg, scratch, context);
    context.onStage("store");
    const tarballPath = archiveTarballPath(pkg.key);
    const tarballTarget = join(context.archiveRoot, tarballPath);
    await mkdir(dirname(tarballTarget), { recursive: true });
    await noteReplacement(context.archiveRoot, tarballPath);
    await writeBtfTarball(btfPath, btfMemberName(pkg.key), tarballTarget);
    const [btf, tarball] = await Promise.all([digestFile(btfPath), digestFile(tarballTarget)]);
    const modulesRecord =
      pkg.modules === undefined
        ? undefined
        : await storeModules(pkg, modules, fetched.missingModules, context.archiveRoot);
    return {
      ...base,
      status: "ok",
      kernelHasBtf: validation.kernelHasBtf,
      btf,
      ...(validation.kernelBtf ? { kernelBtf: validation.kernelBtf } : {}),
      tarball: { path: tarballPath, ...tarball },
      ...(modulesRecord === undefined ? {} : { modules: modulesRecord }),
      kinds: validation.kinds,
      ...(flags === undefined
        ? { ownBtf: true as const }
        : {
            pahole: { version: context.pahole.text, flags },
            ...(context.toolchain === undefined ? {} : { toolchain: context.toolchain }),
          }),
      bpftool: { version: context.bpftool },
      updatedAt: context.now().toISOString(),
    };
  } catch (error) {
    return {
      ...base,
      status: "failed",
      reason: describeError(error),
      transient: isTransient(error),
      updatedAt: context.now().toISOString(),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
