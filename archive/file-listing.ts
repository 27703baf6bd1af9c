// Whether archive files exist, answered from one listing per folder rather than one stat per
// file: a plan over 10,000 archived kernels asks 30,000 times (tarball, minified file per set),
// nearly all in a few folders (`<distro>/<release>/<arch>/`, `minified/<aa>/`). A listing is a
// snapshot: make one per pass, after the writes that pass must see.
import { access, readdir } from "node:fs/promises";
import { join } from "node:path";

export interface FileListing {
  /** Whether `path`, relative to the archive root, named an entry when its folder was first listed. */
  has(path: string): Promise<boolean>;
}

/** When a plan or a minify pass is about to check many archive files: a fresh snapshot, listed lazily. */
export function fileListing(archiveRoot: string): FileListing {
  const folders = new Map<string, Promise<Set<string>>>();
  return {
    async has(path) {
      // Manifest paths are relative and normalized (`debian/12/x86_64/<kernel>.btf.tar.xz`): split at
      // the last slash rather than resolve each one, which cost more than the lookup over 100,000 kernels.
      const slash = path.lastIndexOf("/");
      const folder = slash === -1 ? "" : path.slice(0, slash);
      let names = folders.get(folder);
      if (names === undefined) {
        // A folder that cannot be listed (absent, or not a folder) holds nothing, as a failed stat would say.
        names = readdir(join(archiveRoot, folder)).then(
          (entries) => new Set(entries),
          () => new Set<string>(),
        );
        folders.set(folder, names);
      }
      return (await names).has(path.slice(slash + 1));
    },
  };
}

/** When one file is asked about, once: whether `path` exists. */
export async function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
