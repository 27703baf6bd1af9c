// Finds one regular file in a cpio "newc" stream (the payload of an rpm) and writes it out,
// reading no further than its end. Each entry is (cpio(5), "New ASCII Format"):
//
//   "070701" then 13 fields of 8 hex digits: ino mode uid gid nlink mtime filesize devmajor
//   devminor rdevmajor rdevminor namesize check            (110 bytes)
//   the name, namesize bytes with its NUL, padded so header + name is a multiple of 4
//   filesize bytes of data, padded to a multiple of 4
//
// e.g. "./usr/lib/debug/lib/modules/4.18.0-147.el8.x86_64/vmlinux"; the archive ends with an
// entry named "TRAILER!!!". Names are compared normalised, and only the wanted member is ever
// written, to the caller's path, so no name in the archive decides where bytes land.
import { BtfmillError, FormatError } from "../../archive/errors.ts";
import { ByteReader } from "./byte-reader.ts";
import { writeMemberFile } from "./member-writer.ts";
import { normalizeMemberPath } from "./tar-member.ts";
import type { ModuleMembers } from "./module-members.ts";
import { maxModuleBytes } from "./module-members.ts";

export interface CpioMemberRequest {
  /** Path inside the archive, normalised or not. */
  path: string;
  /** File to create (it must not exist yet). */
  output: string;
  /** Package name or URL, for error messages. */
  package: string;
  /** Refuse a member larger than this before writing a byte of it. */
  maxBytes: number;
  /** Called when the member's header is read, before its bytes. */
  onFound?: () => void;
  /** Called once the member is written, when decoding goes on to modules. */
  onWritten?: () => void;
}

interface CpioEntry {
  name: string;
  mode: number;
  nlink: number;
  size: number;
}

const headerSize = 110;
const trailer = "TRAILER!!!";
// A path is at most PATH_MAX (4096) bytes; a longer name is a broken header.
const maxNameSize = 4096;
const fileType = 0o170000;
const regularFile = 0o100000;
const typeNames: Readonly<Record<number, string>> = {
  0o040000: "a directory",
  0o120000: "a symbolic link",
  0o020000: "a character device",
  0o060000: "a block device",
  0o010000: "a fifo",
  0o140000: "a socket",
};

/**
 * When a package's payload is decoding: writes the wanted member (and the selected `modules`'
 * debug files, wherever they sit), returns its size, or undefined when the archive lacks it.
 */
export async function extractCpioMember(
  payload: AsyncIterable<Buffer>,
  request: CpioMemberRequest,
  modules?: ModuleMembers,
): Promise<number | undefined> {
  const wanted = normalizeMemberPath(request.path);
  const reader = new ByteReader(payload);
  let vmlinuxBytes: number | undefined;
  try {
    for (;;) {
      const entry = await readEntry(reader, request);
      if (entry.name === trailer) return vmlinuxBytes;
      const name = normalizeMemberPath(entry.name);
      // A `..` segment never names the wanted file, whatever the path around it.
      if (name === wanted && !name.split("/").includes("..")) {
        checkRegularFile(entry, name, request, request.maxBytes);
        request.onFound?.();
        vmlinuxBytes = await writeMemberFile(memberData(reader, entry, request), request.output);
        if (modules === undefined || modules.complete) return vmlinuxBytes;
        request.onWritten?.();
        await skipExactly(reader, padding(entry.size), request);
        continue;
      }
      const module = modules?.claim(name);
      // Anything but a regular file with its data here is not a module's debug file.
      if (module === undefined || (entry.mode & fileType) !== regularFile || entry.size === 0) {
        await skipData(reader, entry, request);
        continue;
      }
      checkRegularFile(entry, name, request, maxModuleBytes);
      const bytes = await writeMemberFile(memberData(reader, entry, request), module.output);
      await skipExactly(reader, padding(entry.size), request);
      modules!.add({ name: module.name, path: module.output, bytes });
      if (vmlinuxBytes !== undefined && modules!.complete) return vmlinuxBytes;
    }
  } catch (error) {
    // File-system errors (ENOSPC, EACCES) are the host's trouble, not the package's.
    if (error instanceof BtfmillError || (error as Error).name === "AbortError" || "syscall" in (error as object))
      throw error;
    throw new FormatError(`the rpm payload is not a readable cpio archive: ${(error as Error).message}`, {
      package: request.package,
      cause: error,
    });
  }
}

async function readEntry(reader: ByteReader, request: CpioMemberRequest): Promise<CpioEntry> {
  const offset = reader.position;
  const header = await reader.readExactly(headerSize);
  if (header.length < headerSize) {
    throw new FormatError(
      `the cpio payload ends at byte ${offset + header.length} inside an entry header, before ${trailer}`,
      {
        package: request.package,
      },
    );
  }
  const magic = header.toString("latin1", 0, 6);
  if (magic === "07070X") {
    throw new FormatError(
      "the payload is rpm's stripped cpio (07070X, for files over 4 GiB), which btfmill does not read",
      {
        package: request.package,
      },
    );
  }
  if (magic !== "070701" && magic !== "070702") {
    throw new FormatError(
      `not a cpio newc entry at byte ${offset}: it starts with ${JSON.stringify(magic)}, not "070701"`,
      {
        package: request.package,
      },
    );
  }
  const field = (index: number): number => {
    const text = header.toString("latin1", 6 + index * 8, 14 + index * 8);
    if (!/^[0-9a-fA-F]{8}$/.test(text)) {
      throw new FormatError(
        `cpio entry header at byte ${offset}: field ${index} ${JSON.stringify(text)} is not 8 hex digits`,
        {
          package: request.package,
        },
      );
    }
    return Number.parseInt(text, 16);
  };
  const [mode, nlink, size, nameSize] = [field(1), field(4), field(6), field(11)];
  if (nameSize === 0 || nameSize > maxNameSize) {
    throw new FormatError(`cpio entry header at byte ${offset}: name size ${nameSize} is out of range`, {
      package: request.package,
    });
  }
  const nameBytes = await reader.readExactly(nameSize);
  if (nameBytes.length < nameSize || nameBytes[nameSize - 1] !== 0) {
    throw new FormatError(`cpio entry at byte ${offset}: the name is cut short or lacks its terminating NUL`, {
      package: request.package,
    });
  }
  await skipExactly(reader, padding(headerSize + nameSize), request);
  return { name: nameBytes.toString("utf8", 0, nameSize - 1), mode, nlink, size };
}

function checkRegularFile(entry: CpioEntry, name: string, request: CpioMemberRequest, maxBytes: number): void {
  const type = entry.mode & fileType;
  if (type !== regularFile) {
    throw new FormatError(
      `${name} in the rpm payload is ${typeNames[type] ?? `of file type 0o${type.toString(8)}`}, not a regular file`,
      {
        package: request.package,
      },
    );
  }
  // newc stores a hard-linked file's data once, with its last link; the others have no bytes.
  if (entry.nlink > 1 && entry.size === 0) {
    throw new FormatError(`${name} in the rpm payload is a hard link whose data lies with another name`, {
      package: request.package,
    });
  }
  if (entry.size > maxBytes) {
    throw new FormatError(`${name} in the rpm payload claims ${entry.size} bytes, over the limit of ${maxBytes}`, {
      package: request.package,
    });
  }
}

// The wanted member's bytes, exactly `entry.size` of them, or a FormatError when the payload ends first.
async function* memberData(
  reader: ByteReader,
  entry: CpioEntry,
  request: CpioMemberRequest,
): AsyncGenerator<Buffer, void, undefined> {
  let left = entry.size;
  while (left > 0) {
    const chunk = await reader.readUpTo(left);
    if (chunk.length === 0) {
      throw new FormatError(
        `${entry.name} in the rpm payload ends after ${entry.size - left} of its ${entry.size} bytes`,
        {
          package: request.package,
        },
      );
    }
    left -= chunk.length;
    yield chunk;
  }
}

async function skipData(reader: ByteReader, entry: CpioEntry, request: CpioMemberRequest): Promise<void> {
  await skipExactly(reader, entry.size + padding(entry.size), request);
}

async function skipExactly(reader: ByteReader, size: number, request: CpioMemberRequest): Promise<void> {
  const skipped = await reader.skip(size);
  if (skipped < size) {
    throw new FormatError(`the cpio payload ends at byte ${reader.position}, inside an entry, before ${trailer}`, {
      package: request.package,
    });
  }
}

function padding(size: number): number {
  return (4 - (size % 4)) % 4;
}
