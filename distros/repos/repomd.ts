// A yum repository's `repodata/repomd.xml`, after its signature was checked (yum.ts): which
// metadata files exist and what vouches for them.
//
//   <repomd xmlns="http://linux.duke.edu/metadata/repo">
//     <data type="primary">
//       <checksum type="sha256">83ab85d7...</checksum>
//       <open-checksum type="sha256">15f75399...</open-checksum>
//       <location href="repodata/83ab85d7...-primary.xml.zst"/>
//       <size>655</size>
//       <open-size>2229</open-size>
//     </data>
//     ...
//
// Older repositories name sha1 `sha`; createrepo has written sha256 by default since 2009.
import { SaxesParser } from "saxes";
import { FormatError } from "../../archive/errors.ts";

export interface Checksum {
  /** A node:crypto hash name: `sha256`, `sha512`, `sha1`. */
  algorithm: string;
  /** Lowercase hex. */
  value: string;
}

export interface RepomdRecord {
  type: string;
  /** Where the file is, relative to the repository's base URL, or absolute when repomd gives an xml:base. */
  href: string;
  checksum: Checksum;
  size: number | undefined;
  openChecksum: Checksum | undefined;
  openSize: number | undefined;
}

// Digests a signed repomd may vouch with; md5 is refused, it vouches for nothing.
const algorithms: Readonly<Record<string, string>> = {
  sha: "sha1",
  sha1: "sha1",
  sha224: "sha224",
  sha256: "sha256",
  sha384: "sha384",
  sha512: "sha512",
};
const hint = "the repository metadata is broken: retry later or use another mirror";
// A real repomd.xml is a few KB; this bounds a hostile one before it is parsed.
export const maxRepomdBytes = 4 * 1024 * 1024;

/** When a verified repomd.xml is read: its records by type (`primary`, `filelists`, ...). */
export function parseRepomd(text: string, where: string): Map<string, RepomdRecord> {
  const records = new Map<string, RepomdRecord>();
  const parser = new SaxesParser({ xmlns: false });
  let root: string | undefined;
  let current: (Partial<RepomdRecord> & { type: string }) | undefined;
  let field: { name: string; type: string | undefined; text: string } | undefined;
  parser.on("opentag", (tag) => {
    root ??= tag.name;
    if (tag.name === "data" && current === undefined) {
      current = { type: tag.attributes.type ?? "" };
    } else if (current !== undefined && tag.name === "location") {
      current.href = joinBase(tag.attributes["xml:base"], tag.attributes.href ?? "");
    } else if (current !== undefined && ["checksum", "open-checksum", "size", "open-size"].includes(tag.name)) {
      field = { name: tag.name, type: tag.attributes.type, text: "" };
    }
  });
  parser.on("text", (text) => {
    if (field !== undefined) field.text += text;
  });
  parser.on("closetag", (tag) => {
    if (field !== undefined && tag.name === field.name && current !== undefined) {
      assignField(current, field, where);
      field = undefined;
    } else if (tag.name === "data" && current !== undefined) {
      records.set(current.type, completeRecord(current, where));
      current = undefined;
    }
  });
  try {
    parser.write(text).close();
  } catch (cause) {
    // The handlers' own FormatErrors pass; saxes throws plain Errors.
    if (cause instanceof FormatError) throw cause;
    throw new FormatError(`${where} is not well-formed XML: ${(cause as Error).message}`, { cause, hint });
  }
  if (root !== "repomd") {
    throw new FormatError(`${where} is not a repomd document (its root element is ${root ?? "missing"})`, {
      hint: "is the mirror URL right? It must point at the folder that holds repodata/",
    });
  }
  return records;
}

// The node:crypto name for a checksum type, or FormatError for one btfmill does not trust.
function checksumAlgorithm(type: string | undefined, where: string): string {
  const algorithm = algorithms[type ?? ""];
  if (algorithm === undefined) {
    throw new FormatError(
      `${where}: checksum type ${JSON.stringify(type)} is not one btfmill trusts (${Object.keys(algorithms).join(", ")})`,
      {
        hint: "the repository uses a weak or unknown digest; regenerate it with createrepo_c --checksum sha256",
      },
    );
  }
  return algorithm;
}

function assignField(
  record: Partial<RepomdRecord>,
  field: { name: string; type: string | undefined; text: string },
  where: string,
): void {
  const text = field.text.trim();
  const what = `${where}: data of type ${(record as { type: string }).type}`;
  const malformed = (problem: string) =>
    new FormatError(`${what} has ${field.name} ${JSON.stringify(text.slice(0, 80))}${problem}`, { hint });
  if (field.name === "checksum" || field.name === "open-checksum") {
    if (!/^[0-9a-fA-F]+$/.test(text)) throw malformed(", not hex");
    const checksum = { algorithm: checksumAlgorithm(field.type, what), value: text.toLowerCase() };
    if (field.name === "checksum") record.checksum = checksum;
    else record.openChecksum = checksum;
    return;
  }
  const size = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(size)) throw malformed(", not a byte count");
  if (field.name === "size") record.size = size;
  else record.openSize = size;
}

function completeRecord(record: Partial<RepomdRecord> & { type: string }, where: string): RepomdRecord {
  if (record.href === undefined || record.href === "" || record.checksum === undefined) {
    throw new FormatError(`${where}: data of type ${record.type} lacks its location or checksum`, { hint });
  }
  return {
    type: record.type,
    href: record.href,
    checksum: record.checksum,
    size: record.size,
    openChecksum: record.openChecksum,
    openSize: record.openSize,
  };
}

/** When a location has an xml:base (createrepo_c --baseurl): the base and href joined; the href alone otherwise. */
export function joinBase(base: string | undefined, href: string): string {
  if (base === undefined || base === "") return href;
  return base.endsWith("/") ? base + href : `${base}/${href}`;
}
