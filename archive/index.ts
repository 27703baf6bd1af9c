// The archive's public surface: the BTF reader, CO-RE coverage, ELF sections, layout, manifest.
export * from "./btf/index.ts";
export * from "./core/index.ts";
export { hasDwarf, hasElfSection, readElfSection } from "./elf.ts";
export { archiveTarballPath, btfMemberName, manifestFileName } from "./layout.ts";
export { readManifest, writeManifest, manifestSchemaVersion, type Manifest, type ManifestEntry, type SourceState } from "./manifest.ts";
export { digestFile, type FileDigest } from "./file-digest.ts";
