// A source's `modules` as the manifest records it: lsmod spelling, sorted, duplicates dropped, so
// `["nf-nat", "xfs"]` and `["xfs", "nf_nat"]` are one selection and a reordered config converts nothing again.
import { moduleName } from "../distros/packages/module-members.ts";
import type { ModuleSelection } from "../distros/types.ts";

/** When a selection is recorded or compared with the recorded one. */
export function moduleSelectionKey(selection: ModuleSelection): "all" | string[] {
  return selection === "all" ? "all" : [...new Set(selection.map(moduleName))].sort();
}
