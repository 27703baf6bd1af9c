// Where an archive's files come from. A local archive holds every file its manifest names; an
// archive started from a published site (`--state`) holds only what this machine made or needed,
// and fetches the rest from the site, by sha256, when something needs the bytes.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeAtomically } from "../../archive/atomic-write.ts";
import { fileListing, pathExists, type FileListing } from "../../archive/file-listing.ts";
import type { ArchiveFile } from "../../archive/manifest.ts";
import { IntegrityError } from "../../archive/errors.ts";
import { sha256Hex } from "../../archive/file-digest.ts";
import type { StateSite } from "./state-site.ts";

export interface ArchiveFiles {
  root: string;
  /**
   * True when every file the manifest names must be in the folder (a local archive); false when
   * files may stay on the state site until needed.
   */
  complete: boolean;
  /** Whether the folder has the file or can fetch it, as of the last `rescan` (folders are listed once, not stat-ed per file). */
  has(file: ArchiveFile): Promise<boolean>;
  /** When a pass starts that must see files written since the last one. */
  rescan(): void;
  /** Makes sure the file is in the folder at its path (fetched and checked if need be). */
  materialize(file: ArchiveFile, signal?: AbortSignal): Promise<void>;
  /**
   * What a settled source's key takes from the files (pipeline/settled-sources.ts): a local
   * archive's listing of the source's folder, so a tarball removed or added by hand unsettles it;
   * for a `--state` archive, nothing: the site publishes what its manifest names, and the folder
   * holds only what this machine made.
   */
  mark(source: string): Promise<string>;
}

async function folderMark(folder: string): Promise<string> {
  const names = await readdir(folder).catch(() => undefined);
  return names === undefined ? "absent" : sha256Hex(Buffer.from(names.sort().join("\n")));
}

/** When an archive folder is the whole state: its files are there or missing. */
export function localArchiveFiles(root: string): ArchiveFiles {
  let listing: FileListing = fileListing(root);
  return {
    root,
    complete: true,
    has: (file) => listing.has(file.path),
    rescan: () => {
      listing = fileListing(root);
    },
    async materialize(file) {
      if (!(await pathExists(join(root, file.path)))) {
        throw new IntegrityError(`${join(root, file.path)} is missing, though the archive manifest names it`, {
          hint: 'run "btfmill run" to redo that kernel, or pass --state with the site it was published to',
        });
      }
    },
    mark: (source) => folderMark(join(root, source)),
  };
}

/** When a command is given `--state`: the folder first, then the site. */
export function stateArchiveFiles(root: string, state: StateSite): ArchiveFiles {
  let listing: FileListing = fileListing(root);
  return {
    root,
    complete: false,
    has: async (file) => state.published(file) !== undefined || (await listing.has(file.path)),
    rescan: () => {
      listing = fileListing(root);
    },
    async materialize(file, signal) {
      const target = join(root, file.path);
      if (await pathExists(target)) return;
      const bytes = await state.read(file, signal);
      await mkdir(dirname(target), { recursive: true });
      await writeAtomically(target, (temp) => writeFile(temp, bytes));
    },
    mark: async () => "site",
  };
}
