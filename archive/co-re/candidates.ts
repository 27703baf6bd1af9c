// Kernel candidates for a local root type (libbpf bpf_core_add_cands): named types of a compatible
// kind whose essential name equals the local one's, so `tcp_sock___old` finds `tcp_sock`.
import { typesNamedLike } from "../btf/lazy.ts";
import type { BtfSpec, BtfType } from "../btf/types.ts";
import { essentialName, kindsCompatible } from "./type-names.ts";

// A 5 MB kernel BTF holds ~100k types; every relocation of every object asks this index, so it is
// built once per spec.
const indexes = new WeakMap<BtfSpec, Map<string, BtfType[]>>();

/** When a relocation is resolved: kernel types that may stand for `local`, in id order. */
export function findCandidates(kernel: BtfSpec, local: BtfType): BtfType[] {
  const name = essentialName(local.name);
  if (name === "") return [];
  // A kernel opened lazily (openBtf) looks names up through its hashes of the name bytes: no index.
  const named =
    typesNamedLike(kernel, name, local.kind)?.filter((type) => essentialName(type.name) === name) ??
    indexFor(kernel).get(name) ??
    [];
  return named.filter((type) => kindsCompatible(local, type));
}

function indexFor(kernel: BtfSpec): Map<string, BtfType[]> {
  let index = indexes.get(kernel);
  if (index === undefined) {
    index = new Map();
    for (const type of kernel.types) {
      if (type.name === "") continue;
      const key = essentialName(type.name);
      const list = index.get(key);
      if (list === undefined) index.set(key, [type]);
      else list.push(type);
    }
    indexes.set(kernel, index);
  }
  return index;
}
