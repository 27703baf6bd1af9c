// The manifest's records: the archive's source of truth and the pipeline's state. One entry per
// kernel, keyed by `<distro>/<release>/<arch>/<kernel>`; every file it names carries its sha256.
// How they are kept on disk (a root and one part per source) is archive/state.ts.
import { z } from "zod";
import { parseJson } from "./parse-json.ts";
import { sha256Pattern } from "./file-digest.ts";
import { arches } from "./kernel-key.ts";

const digest = z.strictObject({ sha256: z.string().regex(sha256Pattern), size: z.int().nonnegative() });
const publishedFile = digest.extend({ path: z.string().min(1) });

const coverageEntrySchema = z.strictObject({
  section: z.string(),
  /** The ELF function holding the relocation; absent in records written before it was kept. */
  program: z.string().optional(),
  index: z.int(),
  kind: z.string(),
  name: z.string(),
  status: z.enum(["missing", "ambiguous"]),
  why: z.string(),
  /** On a guarded read: the check in the same program (relo #index of the section) whose value here closes its branch. */
  guard: z
    .strictObject({ index: z.int(), kind: z.string(), name: z.string(), value: z.union([z.literal(0), z.literal(1)]) })
    .optional(),
});

/** How one registered object's CO-RE relocations fare on this kernel. */
const objectCoverageSchema = z.strictObject({
  object: z.string(),
  sha256: z.string(),
  total: z.int().nonnegative(),
  resolved: z.int().nonnegative(),
  guarded: z.array(coverageEntrySchema),
  unresolved: z.array(coverageEntrySchema),
  /** Resolved relocations whose target type came from a module merged into the file; absent when none did (every other resolved relocation resolved in vmlinux). */
  resolvedInModules: z
    .array(
      z.strictObject({
        section: z.string(),
        program: z.string(),
        index: z.int(),
        kind: z.string(),
        name: z.string(),
        module: z.string(),
      }),
    )
    .optional(),
});

/** The set every registered object belongs to (the union of all sets): what the CDN root serves. */
export const unionSetName = "all";

/** The kernel's BTF minified for one object set, or why that failed. */
const minifiedSchema = z.strictObject({
  /** sha256 over the set's object digests: when it changes, the set is minified again. */
  fingerprint: z.string(),
  file: publishedFile.optional(),
  coverage: z.array(objectCoverageSchema),
  error: z.string().optional(),
  /**
   * When the kernel has a modules tarball: its sha256 when this was minified (a changed module set
   * minifies again) and the modules whose split BTF was merged with the kernel's before minifying,
   * sorted (empty: the objects need only vmlinux types, and the file is what it is without modules).
   */
  modules: z.strictObject({ tarball: z.string().regex(sha256Pattern), merged: z.array(z.string()) }).optional(),
});

/** A kernel's modules: split BTF against the kernel's `btf` (its base), packed in one tarball. */
const modulesSchema = z.strictObject({
  /** The source's `modules` when converted, lsmod spelling, sorted: a changed selection converts the kernel again. */
  selected: z.union([z.literal("all"), z.array(z.string())]),
  /** `<kernel>.modules.btf.tar.xz`, absent when the package carried none of the selected modules. */
  tarball: publishedFile.optional(),
  /**
   * By lsmod name: the `<name>.btf` member's digest, the types it adds to the kernel's (absent in
   * entries made before it was recorded), and the module's own `.BTF` it was validated against, when
   * it has one, with how many struct/union names the module defines (each layout equal).
   */
  files: z.record(
    z.string(),
    digest.extend({
      types: z.int().nonnegative().optional(),
      ownBtf: digest.extend({ layouts: z.int().nonnegative() }).optional(),
    }),
  ),
  /** Selected modules the package does not carry (built into the kernel, or not built at all). */
  missing: z.array(z.string()).optional(),
  /**
   * With `selected: "all"`, by lsmod name: modules left out and why (no DWARF, pahole failed, layouts
   * differ from their own `.BTF`); the kernel and its other modules are published. A named module
   * that fails fails the kernel instead.
   */
  failed: z.record(z.string(), z.string()).optional(),
});

export const entrySchema = z.strictObject({
  key: z.strictObject({ distro: z.string(), release: z.string(), arch: z.enum(arches), kernel: z.string() }),
  flavor: z.string(),
  /** `skipped`: not converted on purpose (an older kernel of its flavor already ships BTF). */
  status: z.enum(["ok", "failed", "skipped"]),
  /** Why a kernel failed or was skipped: the error, where, and what to do. */
  reason: z.string().optional(),
  /** Whether the failure is worth retrying next run without `--retry-failed` (network trouble). */
  transient: z.boolean().optional(),
  /** The vmlinux carried its own `.BTF`: the kernel has BTF at /sys/kernel/btf/vmlinux. */
  kernelHasBtf: z.boolean().optional(),
  /**
   * The BTF is the vmlinux's own `.BTF` section byte for byte (kernelsWithBtf "own"), what
   * /sys/kernel/btf/vmlinux gives on that kernel; no pahole ran, so `pahole` and `toolchain` are absent.
   */
  ownBtf: z.literal(true).optional(),
  btf: digest.optional(),
  /** The kernel's own `.BTF` (when it has one), which ours was validated against: equal digests mean identical bytes. */
  kernelBtf: digest.extend({ layouts: z.int().nonnegative() }).optional(),
  tarball: publishedFile.optional(),
  /** The source's selected modules, split BTF whose base is this entry's `btf`. */
  modules: modulesSchema.optional(),
  /** BTF kinds present in the output, by name. */
  kinds: z.array(z.string()).optional(),
  package: z.strictObject({
    name: z.string(),
    version: z.string(),
    url: z.string(),
    sha256: z.string(),
    size: z.int().nonnegative(),
    origin: z.string(),
  }),
  pahole: z.strictObject({ version: z.string(), flags: z.array(z.string()) }).optional(),
  bpftool: z.strictObject({ version: z.string() }).optional(),
  /**
   * The pinned converter toolchain pahole and bpftool came from (`btfmill toolchain`): its Debian
   * suite and every package unpacked into it, with the sha256 its signed index gave. Absent when
   * the config named host tools.
   */
  toolchain: z
    .strictObject({
      suite: z.string(),
      packages: z.array(z.strictObject({ name: z.string(), version: z.string(), sha256: z.string() })),
    })
    .optional(),
  /** Per object set (and `all`, the union): the minified BTF and relocation coverage. */
  minified: z.record(z.string(), minifiedSchema).optional(),
  updatedAt: z.string(),
});

export const sourceStateSchema = z.strictObject({
  status: z.enum(["ok", "stale"]),
  /** The source's indexes were read without signature checks (config `insecure`). */
  insecure: z.boolean().optional(),
  /** Why the last run could not read this source; its previous entries were kept. */
  reason: z.string().optional(),
  /** When the source's indexes were last read successfully. */
  refreshedAt: z.string().optional(),
  checkedAt: z.string(),
  /**
   * Set when the last full read of the source left it nothing to do: `key` digests what that
   * decision rested on (the signed indexes' stamps, the source's config, the object sets, the run's
   * options, the archive folder), so a later run that computes the same key skips reading the
   * indexes and the part (pipeline/settled-sources.ts).
   */
  settled: z
    .strictObject({
      key: z.string().regex(sha256Pattern),
      /** The same from the index files the verified roots list: a suite signed again over the same indexes keeps it. */
      contentKey: z.string().regex(sha256Pattern).optional(),
      /** The kernel packages the source listed then: all unchanged while it stays settled. */
      kernels: z.int().nonnegative(),
      /** The earliest Valid-Until of the Release files read: past it, the source is read in full again. */
      validUntil: z.string().optional(),
      absentSuites: z.array(z.string()).optional(),
    })
    .optional(),
});

// Schema v1 kept the whole archive in one file; it is read to migrate such an archive (archive/state.ts).
const singleFileSchema = z.strictObject({
  schemaVersion: z.literal(1),
  generator: z.string(),
  updatedAt: z.string(),
  sources: z.record(z.string(), sourceStateSchema),
  kernels: z.record(z.string(), entrySchema),
});

export type ManifestEntry = z.infer<typeof entrySchema>;

/**
 * When runs compare toolchains: what decides a conversion's bytes, the pahole version and, for
 * the pinned toolchain, the sha256 of the package it came from (`v1.30 08b8b5...`, `v1.24 host`).
 */
export function toolchainIdentity(entry: Pick<ManifestEntry, "pahole" | "toolchain">): string {
  return `${entry.pahole?.version ?? "none"} ${entry.toolchain?.packages.find((pkg) => pkg.name === "pahole")?.sha256 ?? "host"}`;
}
/** A file of the archive: its path under the archive root and its digest. */
export type ArchiveFile = z.infer<typeof publishedFile>;
export type ModulesRecord = z.infer<typeof modulesSchema>;
export type MinifiedRecord = z.infer<typeof minifiedSchema>;
export type ObjectCoverage = z.infer<typeof objectCoverageSchema>;
export type SourceState = z.infer<typeof sourceStateSchema>;
/** The archive's state as one value: every source's state and every kernel's entry (or those of the parts loaded). */
export interface Manifest {
  generator: string;
  updatedAt: string;
  sources: Record<string, SourceState>;
  kernels: Record<string, ManifestEntry>;
}

/** When an archive has no state yet. */
export function emptyManifest(): Manifest {
  return { generator: "btfmill", updatedAt: new Date(0).toISOString(), sources: {}, kernels: {} };
}

/** When a schema v1 archive (one file) is opened to be migrated: `where` and `hint` go into the error. */
export function parseSingleFileManifest(text: string, where: string, hint: string): Manifest {
  const { schemaVersion: _, ...manifest } = parseJson(singleFileSchema, text, {
    where,
    misfit: "does not follow manifest schema v1",
    problems: 5,
    context: { hint },
  });
  return manifest;
}
