// What an installed toolchain is, where it lives, and the pointer (`current.json`) to the one in
// use. Each install gets its own folder named for the packages in it, so a new pinned version
// never overwrites the tools a running conversion uses.
import { readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { writeAtomically } from "../../archive/atomic-write.ts";
import { z } from "zod";
import { parseJson } from "../../archive/parse-json.ts";
import { sha256Pattern } from "../../archive/file-digest.ts";

const toolSchema = z.strictObject({ version: z.string(), package: z.string() });

/** One package unpacked into the toolchain, as the signed index listed it. */
const packageSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  architecture: z.string(),
  sha256: z.string().regex(sha256Pattern),
  size: z.int().nonnegative(),
});

/** An installed toolchain: the manifest's provenance of every conversion made with it. */
const installedSchema = z.strictObject({
  /** Debian suite the packages came from (`trixie`). */
  suite: z.string(),
  /** Each tool's version as it prints it (`v1.30`, `bpftool v7.5.0`), and the package that shipped it. */
  tools: z.strictObject({ pahole: toolSchema, bpftool: toolSchema }),
  packages: z.array(packageSchema),
  /** The folder the packages were unpacked into (`<dir>/<id>/root`). */
  root: z.string(),
});

export type ToolchainPackage = z.infer<typeof packageSchema>;
export type InstalledToolchain = z.infer<typeof installedSchema>;

/** When no folder is configured: $BTFMILL_TOOLCHAIN_DIR, else $XDG_CACHE_HOME/btfmill/toolchain, else ~/.cache/btfmill/toolchain. */
export function defaultToolchainDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BTFMILL_TOOLCHAIN_DIR) return resolve(env.BTFMILL_TOOLCHAIN_DIR);
  const cache = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache");
  return join(cache, "btfmill", "toolchain");
}

const pointer = (dir: string) => join(dir, "current.json");

/** When a run starts: the toolchain `btfmill toolchain` installed in `dir`, or undefined when none is. */
export async function readInstalled(dir: string): Promise<InstalledToolchain | undefined> {
  let text: string;
  try {
    text = await readFile(pointer(dir), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return parseJson(installedSchema, text, {
    where: pointer(dir),
    misfit: "is not a toolchain record",
    problems: 3,
    context: { hint: "run `btfmill toolchain` again" },
  });
}

/** When an install is complete: makes it the one runs use. */
export async function writeInstalled(dir: string, record: InstalledToolchain): Promise<void> {
  await writeAtomically(pointer(dir), (temp) => writeFile(temp, `${JSON.stringify(record, null, 2)}\n`));
}
