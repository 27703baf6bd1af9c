// Public surface of CO-RE coverage: read a BPF object, resolve its relocations against a kernel
// BTF as libbpf would, and summarise which ones break.
export { loadBpfObject, type BpfObject, type CoreRelocation } from "./bpf-object.ts";
export {
  computeCoverage,
  type Coverage,
  type CoverageEntry,
  type CoverageObject,
  type CoverageOptions,
  type ModuleResolution,
} from "./coverage.ts";
export { chooseModules, newModuleFinder, type KernelModules, type ModuleFinder } from "./module-needs.ts";
export { mergeModules, type MergedKernel } from "./module-merge.ts";
export { ReloKind, isGuarded, reloKindNames, type ReloKindName } from "./relo-kinds.ts";
export { resolveRelocation, type RelocationOutcome } from "./resolve.ts";
