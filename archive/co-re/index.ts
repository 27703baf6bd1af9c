// Public surface of CO-RE coverage: read a BPF object, resolve its relocations against a kernel
// BTF as libbpf would, and summarise which ones break.
export { loadBpfObject, type BpfObject, type CoreRelocation } from "./bpf-object.ts";
export { computeCoverage, type Coverage, type CoverageEntry, type CoverageObject } from "./coverage.ts";
export { ReloKind, isGuarded, reloKindNames, type ReloKindName } from "./relo-kinds.ts";
export { resolveRelocation, type RelocationOutcome } from "./resolve.ts";
