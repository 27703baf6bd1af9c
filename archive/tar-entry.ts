// The header of every tar member btfmill writes (archive tarballs, site bundles, release assets):
// owner 0 with no names, mtime 0, so the same files always give the same bytes.
import type tar from "tar-stream";

type EntryHeader = Parameters<ReturnType<typeof tar.pack>["entry"]>[0];

/** When a tar member is added: its reproducible header. */
export function reproducibleEntry(name: string, size: number, mode: number): EntryHeader {
  return { name, size, mode, uid: 0, gid: 0, uname: "", gname: "", mtime: new Date(0), type: "file" };
}
