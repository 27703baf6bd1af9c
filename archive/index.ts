// The archive's public surface: the BTF reader, CO-RE coverage, ELF sections, layout, manifest.
export * from "./btf/index.ts";
export * from "./co-re/index.ts";
export { hasDwarf, hasElfSection, readElfSection } from "./elf.ts";
export {
  BtfmillError,
  ConfigError,
  FetchError,
  FormatError,
  IntegrityError,
  ToolError,
  VmlinuxNotFoundError,
} from "./errors.ts";
export { arches, isArch, keyPath, parseKeyPath, type Arch, type KernelKey } from "./kernel-key.ts";
export { archiveTarballPath, btfMemberName, manifestFileName } from "./layout.ts";
export type { Manifest, ManifestEntry, SourceState } from "./manifest.ts";
export {
  manifestSchemaVersion,
  openArchiveState,
  readManifest,
  writeManifest,
  type ArchiveState,
  type StateStore,
} from "./state.ts";
export { digestFile, type FileDigest } from "./file-digest.ts";
