// A yum repository's primary.xml, parsed as a stream: Fedora's updates primary is over 100 MB
// decoded and openSUSE's oss one larger, so nothing but the wanted packages is ever held.
//
//   <metadata xmlns="http://linux.duke.edu/metadata/common" packages="2">
//   <package type="rpm">
//     <name>kernel-debuginfo</name>
//     <arch>x86_64</arch>
//     <version epoch="0" ver="4.18.0" rel="147.el8"/>
//     <checksum type="sha256" pkgid="YES">d3c6815b...</checksum>
//     <size package="6259" installed="6" archive="300"/>
//     <location href="Packages/k/kernel-debuginfo-4.18.0-147.el8.x86_64.rpm"/>
//     <format>...</format>
//   </package>
import { StringDecoder } from "node:string_decoder";
import { SaxesParser } from "saxes";
import type { SaxesTagPlain } from "saxes";
import { BtfmillError, FormatError } from "../../archive/errors.ts";
import { joinBase } from "./repomd.ts";
import { sha256Pattern } from "../../archive/file-digest.ts";

/** One package as primary.xml describes it. */
export interface PrimaryPackage {
  name: string;
  arch: string;
  epoch: number | undefined;
  version: string;
  release: string;
  /** Lowercase hex SHA256 of the whole .rpm. */
  sha256: string;
  size: number;
  /** Relative to the repository's base URL, or an absolute URL when primary gives an xml:base. */
  href: string;
}

export interface PrimaryOptions {
  /** Keeps only packages whose name passes: a source wants a few dozen of 60,000. */
  accept: (name: string) => boolean;
  /** Refuse more decoded bytes than this (repomd's open-size when it gives one). */
  maxBytes: number;
}

type Draft = Partial<PrimaryPackage> & { checksumType?: string | undefined };

const hint = "the repository metadata is broken: retry later or use another mirror";
// Text of the fields read from a kept package; nothing longer belongs in them.
const maxFieldChars = 4096;

/** When a verified-to-be primary.xml decodes: the accepted packages, once the whole document parsed. */
export async function parsePrimary(
  decoded: AsyncIterable<Buffer>,
  where: string,
  options: PrimaryOptions,
): Promise<PrimaryPackage[]> {
  const kept: PrimaryPackage[] = [];
  const parser = new SaxesParser({ xmlns: false });
  let depth = 0;
  let root: string | undefined;
  let draft: Draft | undefined;
  let skipping = false;
  let field: { name: string; text: string } | undefined;
  const fail = (message: string) => new FormatError(`${where}: ${message}`, { hint });

  parser.on("opentag", (tag: SaxesTagPlain) => {
    depth += 1;
    root ??= tag.name;
    if (depth === 2 && tag.name === "package") {
      draft = {};
      skipping = false;
    } else if (depth === 3 && draft !== undefined && !skipping) {
      openField(draft, tag);
      if (tag.name === "name" || tag.name === "arch" || tag.name === "checksum") field = { name: tag.name, text: "" };
    }
  });
  parser.on("text", (text) => {
    if (field === undefined) return;
    field.text += text;
    if (field.text.length > maxFieldChars) throw fail(`<${field.name}> runs past ${maxFieldChars} characters`);
  });
  parser.on("closetag", (tag) => {
    depth -= 1;
    if (field !== undefined && depth === 2 && draft !== undefined) {
      const text = field.text.trim();
      if (field.name === "name") {
        draft.name = text;
        // The name comes first: the rest of an unwanted package is read past, not kept.
        skipping = !options.accept(text);
      } else if (field.name === "arch") {
        draft.arch = text;
      } else {
        draft.sha256 = text.toLowerCase();
      }
      field = undefined;
    } else if (depth === 1 && tag.name === "package" && draft !== undefined) {
      if (!skipping) kept.push(completePackage(draft, fail));
      draft = undefined;
    }
  });

  // Errors thrown by the handlers above are FormatErrors already; saxes throws plain Errors.
  const feed = (chunk: string, end: boolean) => {
    try {
      parser.write(chunk);
      if (end) parser.close();
    } catch (cause) {
      if (cause instanceof BtfmillError) throw cause;
      throw new FormatError(`${where} is not well-formed XML: ${(cause as Error).message}`, { cause, hint });
    }
  };
  const text = new StringDecoder("utf8");
  let bytes = 0;
  for await (const chunk of decoded) {
    bytes += chunk.length;
    if (bytes > options.maxBytes)
      throw fail(`decodes to more than ${options.maxBytes} bytes (repomd.xml's open-size, or btfmill's cap)`);
    feed(text.write(chunk), false);
  }
  feed(text.end(), true);
  if (root !== "metadata") throw fail(`not a primary document (its root element is ${root ?? "missing"})`);
  return kept;
}

// The attributes of a package's fields; text fields are collected by the caller.
function openField(draft: Draft, tag: SaxesTagPlain): void {
  const { attributes } = tag;
  switch (tag.name) {
    case "version":
      draft.epoch = attributes.epoch === undefined || attributes.epoch === "" ? undefined : Number(attributes.epoch);
      draft.version = attributes.ver;
      draft.release = attributes.rel;
      break;
    case "checksum":
      draft.checksumType = attributes.type;
      break;
    case "size":
      draft.size = attributes.package === undefined ? undefined : Number(attributes.package);
      break;
    case "location":
      draft.href = attributes.href === undefined ? undefined : joinBase(attributes["xml:base"], attributes.href);
      break;
  }
}

function completePackage(draft: Draft, fail: (message: string) => FormatError): PrimaryPackage {
  const name = draft.name ?? "(unnamed)";
  const { arch, version, release, sha256, size, href, epoch } = draft;
  if (
    arch === undefined ||
    version === undefined ||
    release === undefined ||
    sha256 === undefined ||
    size === undefined ||
    href === undefined
  ) {
    throw fail(`package ${name} lacks its arch, version, checksum, size or location`);
  }
  if (draft.checksumType !== "sha256") {
    throw fail(
      `package ${name}-${version}-${release}.${arch} is vouched for by a ${draft.checksumType ?? "missing"} checksum; btfmill verifies packages by sha256`,
    );
  }
  if (!sha256Pattern.test(sha256)) throw fail(`package ${name} has sha256 ${JSON.stringify(sha256.slice(0, 80))}`);
  if (!Number.isSafeInteger(size) || size < 0) throw fail(`package ${name} has size ${size}`);
  if (epoch !== undefined && (!Number.isSafeInteger(epoch) || epoch < 0))
    throw fail(`package ${name} has epoch ${epoch}`);
  checkHref(name, href, fail);
  return { name, arch, epoch, version, release, sha256, size, href };
}

// The URL is built from the repository's base and href: a relative href leaving the repository
// is refused. An absolute one (from xml:base) may name another host; the sha256 still vouches.
function checkHref(name: string, href: string, fail: (message: string) => FormatError): void {
  const absolute = /^https?:\/\//.test(href);
  const path = absolute ? new URL(href).pathname : href;
  if ((!absolute && (href.startsWith("/") || href.includes("://"))) || path.split("/").includes("..")) {
    throw fail(`package ${name} has location ${JSON.stringify(href)} outside the repository`);
  }
}
