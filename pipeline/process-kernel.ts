// One kernel through fetch -> convert -> validate -> store. Scratch files live in a folder of
// their own on the archive's filesystem and are gone when this returns, whatever happened.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeBtfTarball } from "../archive/btf-tarball.ts";
import { digestFile } from "../archive/file-digest.ts";
import { noteReplacement } from "../archive/replacements.ts";
import { archiveTarballPath, btfMemberName, scratchDir } from "../archive/layout.ts";
import type { ManifestEntry } from "../archive/manifest.ts";
import type { KernelPackage } from "../distros/types.ts";
import { keyPath } from "../distros/types.ts";
import type { PaholeConfig } from "./config.ts";
import { FetchError, describeError } from "./errors.ts";
import type { KernelStage } from "./events.ts";
import { convertVmlinux } from "./stages/convert.ts";
import { fetchVmlinux } from "./stages/fetch.ts";
import { validateBtf } from "./stages/validate.ts";
import type { ToolVersion } from "./tools/pahole.ts";

export interface KernelContext {
  archiveRoot: string;
  pahole: ToolVersion;
  bpftool: string;
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

/** When the orchestrator runs a planned kernel: returns its manifest entry, ok or failed, never throws. */
export async function processKernel(pkg: KernelPackage, context: KernelContext): Promise<ManifestEntry> {
  const kernel = keyPath(pkg.key);
  const base = { key: pkg.key, flavor: pkg.flavor, package: packageProvenance(pkg) };
  await mkdir(scratchDir(context.archiveRoot), { recursive: true });
  const scratch = await mkdtemp(join(scratchDir(context.archiveRoot), "kernel-"));
  try {
    const vmlinux = join(scratch, "vmlinux");
    const btfPath = join(scratch, btfMemberName(pkg.key));
    await fetchVmlinux(pkg, vmlinux, {
      signal: context.signal,
      onProgress: (progress) => context.onStage(progress.stage, progress.downloadedBytes, progress.totalBytes),
    });
    context.onStage("convert");
    const { flags } = await convertVmlinux(vmlinux, btfPath, {
      kernel,
      kernelRelease: pkg.key.kernel,
      pahole: context.pahole,
      config: context.paholeConfig,
      signal: context.signal,
    });
    context.onStage("validate");
    const validation = await validateBtf(btfPath, { kernel, kernelRelease: pkg.key.kernel, vmlinux, signal: context.signal });
    await rm(vmlinux, { force: true });
    context.onStage("store");
    const tarballPath = archiveTarballPath(pkg.key);
    const tarballTarget = join(context.archiveRoot, tarballPath);
    await mkdir(dirname(tarballTarget), { recursive: true });
    await noteReplacement(context.archiveRoot, tarballPath);
    await writeBtfTarball(btfPath, btfMemberName(pkg.key), tarballTarget);
    const [btf, tarball] = await Promise.all([digestFile(btfPath), digestFile(tarballTarget)]);
    return {
      ...base,
      status: "ok",
      kernelHasBtf: validation.kernelHasBtf,
      btf,
      tarball: { path: tarballPath, ...tarball },
      kinds: validation.kinds,
      pahole: { version: context.pahole.text, flags },
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
