// Finds one regular file in a tar stream and writes it out, reading no further than its end, or,
// when modules are selected, no further than the last of them (or the tar's end for "all").
// Paths are compared normalised (`./usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64` ->
// `usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64`); only the wanted member is ever written, and
// only to the caller's path, so no name in the archive decides where bytes land.
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import type { Header } from "tar-stream";
import { BtfmillError, FormatError } from "../../archive/errors.ts";
import { writeMemberFile } from "./member-writer.ts";
import type { ModuleMembers } from "./module-members.ts";
import { maxModuleBytes } from "./module-members.ts";

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
}

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
): Promise<number | undefined> {
  const wanted = normalizeMemberPath(request.path);
  const extract = tar.extract();
  const feeding = pipeline(payload, extract).catch(() => {});
  let vmlinuxBytes: number | undefined;
  try {
    for await (const entry of extract) {
      const name = normalizeMemberPath(entry.header.name);
      // A `..` segment never names the wanted file, whatever the path around it.
      if (name === wanted && !name.split("/").includes("..")) {
        checkRegularFile(entry.header, name, request, request.maxBytes);
        request.onFound?.();
        vmlinuxBytes = await writeWhole(entry, name, request.output, request);
        if (modules === undefined || modules.complete) return vmlinuxBytes;
        request.onWritten?.();
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
      if (vmlinuxBytes !== undefined && modules!.complete) return vmlinuxBytes;
    }
    return vmlinuxBytes;
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
