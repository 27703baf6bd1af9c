// Renders our decoded model in the text of `bpftool btf dump file X` (raw format), so tests can
// hold every record we decode against an independent parser, line for line.
import { execa } from "execa";
import { btfTypeById, type BtfSpec, type BtfType } from "../../archive/btf/index.ts";

const quoted = (name: string) => `'${name === "" ? "(anon)" : name}'`;
const intEncodings: Record<number, string> = { 0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL" };

/** When a test compares with bpftool: the dump's lines for `spec`. */
export function dumpLikeBpftool(spec: BtfSpec): string[] {
  const lines: string[] = [];
  for (const type of spec.types) {
    const { head, members } = describe(spec, type);
    lines.push(`[${type.id}] ${type.kind} ${quoted(type.name)}${head}`, ...members);
  }
  return lines;
}

/** When a test compares with bpftool: bpftool's own dump of the BTF in `path` (raw or ELF). */
export async function bpftoolDump(path: string): Promise<string[]> {
  const { stdout } = await execa("bpftool", ["btf", "dump", "file", path], { maxBuffer: 256 << 20 });
  return stdout.split("\n");
}

// The rest of the type's line, and one tab-indented line per member, value, param or variable.
function describe(spec: BtfSpec, type: BtfType): { head: string; members: string[] } {
  const tail: string[] = [];
  let head: string;
  switch (type.kind) {
    case "INT":
      head = ` size=${type.size} bits_offset=${type.bitOffset} nr_bits=${type.bits}`;
      head += ` encoding=${intEncodings[type.encoding] ?? "UNKN"}`;
      break;
    case "PTR":
    case "TYPEDEF":
    case "VOLATILE":
    case "CONST":
    case "RESTRICT":
    case "TYPE_TAG":
      head = ` type_id=${type.type}`;
      break;
    case "ARRAY":
      head = ` type_id=${type.type} index_type_id=${type.indexType} nr_elems=${type.nelems}`;
      break;
    case "STRUCT":
    case "UNION":
      head = ` size=${type.size} vlen=${type.members.length}`;
      for (const m of type.members) {
        const bitfield = m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : "";
        tail.push(`\t${quoted(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${bitfield}`);
      }
      break;
    case "ENUM":
    case "ENUM64": {
      head = ` encoding=${type.signed ? "SIGNED" : "UNSIGNED"} size=${type.size} vlen=${type.values.length}`;
      const suffix = type.kind === "ENUM" ? "" : type.signed ? "LL" : "ULL";
      for (const v of type.values) tail.push(`\t${quoted(v.name)} val=${v.value}${suffix}`);
      break;
    }
    case "FWD":
      head = ` fwd_kind=${type.fwdKind}`;
      break;
    case "FUNC":
      head = ` type_id=${type.type} linkage=${type.linkage}`;
      break;
    case "FUNC_PROTO":
      head = ` ret_type_id=${type.returnType} vlen=${type.params.length}`;
      for (const p of type.params) tail.push(`\t${quoted(p.name)} type_id=${p.type}`);
      break;
    case "VAR":
      head = ` type_id=${type.type}, linkage=${type.linkage}`;
      break;
    case "DATASEC":
      head = ` size=${type.size} vlen=${type.vars.length}`;
      for (const v of type.vars) {
        const target = btfTypeById(spec, v.type);
        const label = target ? ` (${target.kind} ${quoted(target.name)})` : "";
        tail.push(`\ttype_id=${v.type} offset=${v.offset} size=${v.size}${label}`);
      }
      break;
    case "FLOAT":
      head = ` size=${type.size}`;
      break;
    case "DECL_TAG":
      head = ` type_id=${type.type} component_idx=${type.componentIdx}`;
      break;
  }
  return { head, members: tail };
}
