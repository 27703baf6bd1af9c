// Finds one regular file in a tar stream and writes it out, reading no further than its end, or,
// when modules are selected, no further than the last of them (or the tar's end for "all").
// Paths are compared normalised (`./usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64` ->
// `usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64`); only the wanted member is ever written, and
// only to the caller's path, so no name in the archive decides where bytes land.
import { rm, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import type { Header } from "tar-stream";
import { BtfmillError, FormatError } from "../../archive/errors.ts";
import { writeMemberFile } from "./member-writer.ts";
import type { ModuleMembers } from "./module-members.ts";
import { maxModuleBytes } from "./module-members.ts";
import type { BtfSymbols, BtfWindow } from "./btf-window.ts";
import { btfSymbols, btfWindow, elfHeaderBytes, looksLikeBtf, programHeadersEnd } from "./btf-window.ts";

export interface TarMemberRequest {
  /** Path inside the tar, normalised or not. */
  path: string;
  /** File to create (it must not exist yet). */
  output: string;
  /** Name of the tar in the package (`data.tar.xz`) and the package, for error messages. */
  tarName: string;
  package: string;
  /** Refuse a member larger than this before writing a byte of it. */
  maxBytes: number;
  /** Called when the member's header is read, before its bytes. */
  onFound?: () => void;
  /** Called once the member is written, when decoding goes on to modules. */
  onWritten?: () => void;
  /**
   * Only the member's `.BTF` section is wanted (and no modules): when a `System.map-<release>`
   * precedes the member and places the section, decoding stops at the section's end and
   * `output` holds just its bytes; otherwise the whole member is written.
   */
  ownBtf?: boolean;
}

export interface ExtractedMember {
  /** The member's size in the tar. */
  bytes: number;
  /** `output` holds only the member's `.BTF` section (`ownBtf`), not the member. */
  btfOnly: boolean;
}

// Debian's System.map is 6-7 MB; a far larger one is not a symbol map to hold in memory.
const maxSystemMapBytes = 64 * 1024 * 1024;

/** When a tar member is wanted: `./a/b`, `/a/b` and `a/b` all name `a/b`. */
export function normalizeMemberPath(path: string): string {
  return path.replace(/^(?:\.\/|\/)+/, "").replace(/\/+$/, "");
}

/**
 * When a package's payload is decoding: writes the wanted member (and the selected `modules`'
 * debug files, wherever they sit), returns its size, or undefined when the tar lacks it.
 */
export async function extractTarMember(
  payload: Readable,
  request: TarMemberRequest,
  modules?: ModuleMembers,
): Promise<ExtractedMember | undefined> {
  const wanted = normalizeMemberPath(request.path);
  const extract = tar.extract();
  const feeding = pipeline(payload, extract).catch(() => {});
  const systemMap = request.ownBtf === true ? systemMapName(wanted) : undefined;
  let symbols: BtfSymbols | undefined;
  let vmlinuxBytes: number | undefined;
  try {
    for await (const entry of extract) {
      const name = normalizeMemberPath(entry.header.name);
      // A `..` segment never names the wanted file, whatever the path around it.
      if (name === wanted && !name.split("/").includes("..")) {
        checkRegularFile(entry.header, name, request, request.maxBytes);
        request.onFound?.();
        if (symbols !== undefined) {
          const btfOnly = await writeBtfOrWhole(entry, name, request, symbols);
          if (btfOnly) return { bytes: entry.header.size, btfOnly };
        } else {
          await writeWhole(entry, name, request.output, request);
        }
        vmlinuxBytes = entry.header.size;
        if (modules === undefined || modules.complete) return { bytes: vmlinuxBytes, btfOnly: false };
        request.onWritten?.();
        continue;
      }
      if (
        vmlinuxBytes === undefined &&
        systemMap !== undefined &&
        basename(name) === systemMap &&
        entry.header.type === "file" &&
        entry.header.size <= maxSystemMapBytes
      ) {
        symbols = btfSymbols(await readWhole(entry as unknown as AsyncIterable<Buffer>));
        continue;
      }
      const module = modules?.claim(name);
      // Debian links no module file; anything but a regular file is not a module's debug file.
      if (module === undefined || (entry.header.type !== "file" && entry.header.type !== "contiguous-file")) {
        entry.resume();
        continue;
      }
      checkRegularFile(entry.header, name, request, maxModuleBytes);
      modules!.add({
        name: module.name,
        path: module.output,
        bytes: await writeWhole(entry, name, module.output, request),
      });
      if (vmlinuxBytes !== undefined && modules!.complete) return { bytes: vmlinuxBytes, btfOnly: false };
    }
    return vmlinuxBytes === undefined ? undefined : { bytes: vmlinuxBytes, btfOnly: false };
  } catch (error) {
    // File-system errors (ENOSPC, EACCES) are the host's trouble, not the package's.
    if (error instanceof BtfmillError || (error as Error).name === "AbortError" || "syscall" in (error as object))
      throw error;
    throw new FormatError(`${request.tarName} is not a readable tar: ${(error as Error).message}`, {
      package: request.package,
      cause: error,
    });
  } finally {
    extract.destroy();
    await feeding;
  }
}

// `vmlinux-6.12.118+deb12-cloud-amd64` -> `System.map-6.12.118+deb12-cloud-amd64`, wherever it sits.
function systemMapName(wanted: string): string | undefined {
  const file = basename(wanted);
  return file.startsWith("vmlinux-") ? `System.map-${file.slice("vmlinux-".length)}` : undefined;
}

async function readWhole(chunks: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts).toString("latin1");
}

/**
 * When System.map placed `.BTF`: writes the member as it streams, and once its program headers and
 * then its `.BTF` bytes have gone by and read as BTF, replaces what was written with that section
 * and returns true. Without a PT_LOAD holding the section, or with bytes there that are no BTF,
 * the member is written whole as without System.map, and false returned.
 */
async function writeBtfOrWhole(
  entry: { header: Header },
  name: string,
  request: TarMemberRequest,
  symbols: BtfSymbols,
): Promise<boolean> {
  let section: Buffer | undefined;
  async function* untilBtfEnd(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    // Every byte up to the program headers' end is kept, since the section may start among them.
    let seen: Buffer | undefined = Buffer.alloc(0);
    let window: BtfWindow | undefined;
    let cut: Buffer | undefined;
    let position = 0;
    for await (const chunk of chunks) {
      const from = position;
      position += chunk.length;
      yield chunk;
      if (seen !== undefined) {
        seen = Buffer.concat([seen, chunk]);
        if (seen.length < elfHeaderBytes) continue;
        const end = programHeadersEnd(seen);
        if (end !== undefined && seen.length < end) continue;
        window = end === undefined ? undefined : btfWindow(seen, symbols);
        if (window !== undefined) {
          cut = Buffer.alloc(window.size);
          seen.copy(cut, 0, Math.min(window.offset, seen.length), Math.min(window.offset + window.size, seen.length));
        }
        seen = undefined;
      } else if (window !== undefined && cut !== undefined) {
        const start = Math.max(window.offset, from);
        const stop = Math.min(window.offset + window.size, position);
        if (start < stop) chunk.copy(cut, start - window.offset, start - from, stop - from);
      }
      if (window === undefined || cut === undefined || position < window.offset + window.size) continue;
      if (looksLikeBtf(cut)) {
        section = cut;
        return;
      }
      // Not the section after all: the member is written whole, as without System.map.
      window = undefined;
      cut = undefined;
    }
  }
  const written = await writeMemberFile(untilBtfEnd(entry as unknown as AsyncIterable<Buffer>), request.output);
  if (section !== undefined) {
    await writeFile(request.output, section);
    return true;
  }
  if (written !== entry.header.size) {
    await rm(request.output, { force: true });
    throw new FormatError(`${name} in ${request.tarName} ends after ${written} of its ${entry.header.size} bytes`, {
      package: request.package,
    });
  }
  return false;
}

async function writeWhole(
  entry: { header: Header },
  name: string,
  output: string,
  request: TarMemberRequest,
): Promise<number> {
  const written = await writeMemberFile(entry as unknown as AsyncIterable<Buffer>, output);
  if (written !== entry.header.size) {
    await rm(output, { force: true });
    throw new FormatError(`${name} in ${request.tarName} ends after ${written} of its ${entry.header.size} bytes`, {
      package: request.package,
    });
  }
  return written;
}

function checkRegularFile(header: Header, name: string, request: TarMemberRequest, maxBytes: number): void {
  const fail = (what: string) =>
    new FormatError(`${name} in ${request.tarName} is ${what}, not a regular file`, { package: request.package });
  switch (header.type) {
    case "file":
    case "contiguous-file":
      break;
    case "symlink":
      throw fail(`a symbolic link to ${header.linkname}`);
    case "link":
      throw fail(`a hard link to ${header.linkname}`);
    default:
      throw fail(`a ${header.type ?? "member of unknown type"}`);
  }
  if (header.size > maxBytes) {
    throw new FormatError(`${name} in ${request.tarName} claims ${header.size} bytes, over the limit of ${maxBytes}`, {
      package: request.package,
    });
  }
}
