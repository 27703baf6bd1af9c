// Publishing switches `--out` from one tree to the next with one rename of a symlink: readers see
// the old tree or the new one; the previous tree and a concurrent publish's partial one are kept.
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import { discardGeneration, startGeneration, switchToGeneration } from "../../site/publish-swap.ts";
import { rejection } from "../helpers/rejection.ts";

let work: string;
let out: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-publish-swap-"));
  out = join(work, "site");
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

// A published generation holding one file that says which it is.
async function publish(label: string): Promise<string> {
  const partial = await startGeneration(out);
  await writeFile(join(partial, "manifest.json"), label);
  return switchToGeneration(out, partial);
}

const generations = async () => (await readdir(work)).filter((name) => name.startsWith(".site.gen-")).sort();

describe("publish generations", () => {
  it("makes an empty hidden partial folder beside --out, then points --out at it by a relative symlink", async () => {
    const partial = await startGeneration(out);
    expect(basename(partial)).toMatch(/^\.site\.gen-[0-9a-z]+-[0-9a-f]{8}\.partial$/);
    expect(await readdir(partial)).toEqual([]);
    await writeFile(join(partial, "manifest.json"), "one");
    const dir = await switchToGeneration(out, partial);
    expect((await lstat(out)).isSymbolicLink()).toBe(true);
    expect(await readlink(out)).toBe(basename(dir));
    expect(await readFile(join(out, "manifest.json"), "utf8")).toBe("one");
  });

  it("keeps the current and the previous tree, and drops older ones", async () => {
    const first = await publish("one");
    const second = await publish("two");
    expect(await generations()).toEqual([basename(first), basename(second)].sort());
    const third = await publish("three");
    expect(await generations()).toEqual([basename(second), basename(third)].sort());
    expect(await readFile(join(out, "manifest.json"), "utf8")).toBe("three");
  });

  it("leaves a concurrent publish's partial tree alone, and removes one abandoned for over a day", async () => {
    await publish("one");
    const concurrent = await startGeneration(out);
    const abandoned = await startGeneration(out);
    const old = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    await utimes(abandoned, old, old);
    await publish("two");
    const left = await generations();
    expect(left).toContain(basename(concurrent));
    expect(left).not.toContain(basename(abandoned));
  });

  it("refuses an --out that is a plain folder, touching nothing", async () => {
    await mkdir(out);
    await writeFile(join(out, "keep"), "mine");
    const error = await rejection(startGeneration(out));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`--out ${out} exists and is not the symlink publish maintains`);
    expect(await readdir(work)).toEqual(["site"]);
  });

  it("discards a failed publish's partial tree, --out still naming the tree before it", async () => {
    await publish("one");
    const partial = await startGeneration(out);
    await writeFile(join(partial, "manifest.json"), "half");
    await discardGeneration(partial);
    expect(await readFile(join(out, "manifest.json"), "utf8")).toBe("one");
    expect(await generations()).toHaveLength(1);
  });
});
