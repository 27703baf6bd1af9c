// The published manifest: what the site holds, every file with its sha256, each kernel's status
// and per-set coverage. Its own versioned schema, apart from the archive's (archive/manifest.ts),
// because consumers (pull, lookup, the page, other tools) read it over HTTP. Since v2 the signed
// root, `manifest.json`, names one part per source (`manifest/<distro>/<release>/<arch>.json`)
// by sha256, and the kernels live in the parts: a consumer that wants one source fetches the root
// and that part, not every kernel of the site. v1 sites (one file with every kernel) still read.
// The JSON Schema published beside it is generated from this definition, so the two cannot drift;
// the descriptions below are the field documentation a schema reader sees.
import { z } from "zod";
import { sha256Pattern } from "../archive/file-digest.ts";
import { arches } from "../archive/kernel-key.ts";

export const cdnSchemaId = "btfmill-cdn-manifest";
export const cdnPartSchemaId = "btfmill-cdn-manifest-part";
export const cdnSchemaVersion = 2;

const sha256 = z.string().regex(sha256Pattern);
const size = z.int().nonnegative();
const arch = z.enum(arches).describe("uname -m, with aarch64 as arm64");

const fileRef = z
  .strictObject({ path: z.string().min(1).describe("relative to the site root"), sha256, size })
  .describe("a file of the site");

const btfForm = z
  .enum(["minified", "full"])
  // Sites published before the full form existed hold only minified files and omit the field.
  .default("minified")
  .describe(
    "minified: only the types the set's objects relocate against (bpftool gen min_core_btf); full: the kernel's whole BTF, served at the root when no object set is registered",
  );

const btfFileRef = fileRef.extend({ form: btfForm }).describe("a raw .btf file of the site, and which form it is");

const objectCoverage = z.strictObject({
  object: z.string(),
  sha256,
  total: size.describe("CO-RE relocations in the object"),
  resolved: size.describe("relocations that resolve against this kernel"),
  guarded: size.describe(
    "*_EXISTS relocations that do not match, and failing reads such a check of the same program keeps from running",
  ),
  unresolved: size.describe("relocations that fail: the program will not load as built"),
  resolvedInModules: z
    .record(z.string(), size)
    .optional()
    .describe(
      "per kernel module (lsmod name): resolved relocations whose target type came from that module, merged into the file; absent when every resolved relocation resolved in vmlinux",
    ),
});

const setCoverage = z.strictObject({
  fingerprint: z
    .string()
    .describe("the set's fingerprint when this kernel was minified; differs from the set's when out of date"),
  total: size,
  resolved: size,
  guarded: size,
  unresolved: size,
  objects: z.array(objectCoverage),
  error: z.string().optional().describe("why minifying against this set failed; no file is published for it then"),
  modules: z
    .array(z.string())
    .optional()
    .describe(
      "kernel modules (lsmod names) whose split BTF was merged with the kernel's before minifying, because the set's objects read their types; the file is standalone; absent when none was",
    ),
});

const splitFileRef = fileRef
  .extend({
    base: fileRef.describe(
      "the BTF this file is split against (the kernel's full BTF): read the two together, e.g. cilium/ebpf's btf.LoadSplitSpec(file, base) or bpftool -B base",
    ),
  })
  .describe("a raw split BTF file of the site (a kernel module's), and the base it needs");

const kernel = z.strictObject({
  key: z.string().describe("<distro>/<release>/<arch>/<kernel>: the path of its files without extension"),
  distro: z.string().describe("os-release ID"),
  release: z.string().describe("os-release VERSION_ID"),
  arch,
  kernel: z.string().describe("uname -r"),
  flavor: z.string(),
  status: z
    .enum(["ok", "failed", "skipped"])
    .describe("ok: BTF published; failed: see reason; skipped: the kernel ships its own BTF"),
  reason: z.string().optional(),
  kernelHasBtf: z.boolean().describe("the kernel has BTF at /sys/kernel/btf/vmlinux: it needs no file from here"),
  btf: z.strictObject({ sha256, size }).optional().describe("the full BTF this kernel's files were made from"),
  files: z.strictObject({
    root: btfFileRef
      .optional()
      .describe(
        "the root path's raw BTF: minified against the root set (the union of every registered object), or the full BTF when no set is registered",
      ),
    sets: z.record(z.string(), btfFileRef).describe("minified against each named set"),
    full: fileRef.optional().describe("BTFHub's <kernel>.btf.tar.xz holding the full BTF (publish --full)"),
    modules: fileRef
      .optional()
      .describe(
        "<kernel>.modules.btf.tar.xz: the source's selected modules, one <module>.btf each, split BTF whose base is the full BTF (publish --full)",
      ),
    moduleFiles: z
      .record(z.string(), splitFileRef)
      .optional()
      .describe(
        "by module name as lsmod prints it: the module's split BTF as a raw file, full/<key>.modules/<module>.btf, beside its base full/<key>.modules/vmlinux.btf (publish --full)",
      ),
  }),
  coverage: z.record(z.string(), setCoverage).describe("per set name"),
  package: z
    .strictObject({ name: z.string(), version: z.string() })
    .describe("the debug package the BTF was made from"),
  updatedAt: z.string(),
});

const source = z.strictObject({
  id: z.string().describe("<distro>/<release>/<arch>"),
  status: z
    .enum(["ok", "stale"])
    .describe("stale: the last run could not read it; its kernels are listed as last known"),
  reason: z.string().optional(),
  insecure: z.boolean().describe("its indexes were read without signature checks"),
  refreshedAt: z.string().optional().describe("when its indexes were last read successfully"),
  checkedAt: z.string(),
});

const objectSet = z.strictObject({
  name: z.string(),
  prefix: z.string().describe("where its files live: empty for the root set, sets/<name>/ for the others"),
  form: btfForm,
  fingerprint: z.string().describe("sha256 over its objects' sha256s; empty for the full form, which has no objects"),
  objects: z.array(z.strictObject({ name: z.string(), sha256 })),
});

const bundle = fileRef.extend({
  set: z.string(),
  arch,
  files: size.describe("how many .btf files it holds, each at <distro>/<release>/<arch>/<kernel>.btf"),
  contentSize: size.describe("the sum of their sizes, unpacked"),
});

const partRef = fileRef
  .extend({
    distro: z.string(),
    release: z.string(),
    arch,
    kernels: size.describe("how many kernel records the part holds"),
  })
  .describe("the part holding the kernels of one source <distro>/<release>/<arch>");

// What the root says besides where the kernels are, the same in v1 and v2.
const rootFields = {
  schema: z.literal(cdnSchemaId),
  generator: z.string(),
  generatedAt: z.string(),
  archiveUpdatedAt: z.string().describe("when the archive this was published from last changed"),
  sources: z.array(source),
  sets: z.array(objectSet),
  bundles: z.array(bundle).describe("one solid .tar.xz per set and arch"),
  unameIndex: fileRef.describe("index/uname.json: uname -r to candidate keys"),
  archiveManifest: fileRef
    .optional()
    .describe(
      "archive-manifest.json: the archive's own manifest (packages, tool versions, coverage details), where `btfmill run --state` starts",
    ),
};

export const cdnRootSchema = z
  .strictObject({
    ...rootFields,
    schemaVersion: z.literal(cdnSchemaVersion),
    parts: z
      .array(partRef)
      .describe("one per source that has kernels, sorted by source; each part's bytes change only with its kernels"),
  })
  .meta({ title: "btfmill CDN manifest root (manifest.json, signed)" });

export const cdnPartSchema = z
  .strictObject({
    schema: z.literal(cdnPartSchemaId),
    schemaVersion: z.literal(cdnSchemaVersion),
    distro: z.string(),
    release: z.string(),
    arch,
    kernels: z.array(kernel).describe("sorted by key"),
  })
  .meta({ title: "btfmill CDN manifest part (manifest/<distro>/<release>/<arch>.json)" });

/** Sites published before the parts: one signed manifest.json with every kernel. Read, never written. */
export const cdnManifestV1Schema = z.strictObject({
  ...rootFields,
  schemaVersion: z.literal(1),
  kernels: z.array(kernel),
});

/** What a consumer finds at manifest.json, whichever version published it. */
export const cdnAnyRootSchema = z.discriminatedUnion("schemaVersion", [cdnManifestV1Schema, cdnRootSchema]);

export type CdnRoot = z.infer<typeof cdnRootSchema>;
export type CdnPart = z.infer<typeof cdnPartSchema>;
export type CdnPartRef = z.infer<typeof partRef>;
export type CdnManifestV1 = z.infer<typeof cdnManifestV1Schema>;
/**
 * A consumer's view of a site: the root, with the kernels of the parts it read (all of them, or
 * the sources it selected). A v1 site's view has no parts and the kernels of its one file.
 */
export type CdnManifest = Omit<CdnRoot, "schemaVersion"> & { schemaVersion: 1 | 2; kernels: CdnKernel[] };
export type CdnKernel = z.infer<typeof kernel>;
export type CdnSet = z.infer<typeof objectSet>;
export type CdnSource = z.infer<typeof source>;
export type CdnBundle = z.infer<typeof bundle>;
export type CdnFile = z.infer<typeof fileRef>;
export type CdnSplitFile = z.infer<typeof splitFileRef>;
export type CdnSetCoverage = z.infer<typeof setCoverage>;

/** When publish writes `manifest.schema.json`: the JSON Schema (2020-12) of the root and of a part. */
export function cdnManifestJsonSchema(): object {
  return z.toJSONSchema(
    z
      .discriminatedUnion("schema", [cdnRootSchema, cdnPartSchema])
      .meta({ $id: `urn:btfmill:${cdnSchemaId}:${cdnSchemaVersion}`, title: "btfmill CDN manifest: root or part" }),
  );
}

// The index kept its v1 form when the manifest split into parts.
export const unameIndexSchemaVersion = 1;

/** uname -r -> the keys that have it, since one uname -r exists under several distros and releases. */
export interface UnameIndex {
  schemaVersion: typeof unameIndexSchemaVersion;
  kernels: Record<string, { key: string; status: CdnKernel["status"] }[]>;
}
