// Which object sets of an archived kernel are due for minifying: a set never minified, one whose
// objects changed (its fingerprint), or one whose file left the archive; not one that is current,
// nor one whose last attempt failed with the same objects.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManifestEntry, MinifiedRecord } from "../../archive/manifest.ts";
import type { ObjectSet } from "../../pipeline/object-registry.ts";
import { setsToMinify } from "../../pipeline/minify-pass.ts";
import { localArchiveFiles } from "../../site/state/archive-files.ts";

let archive: string;
const present = { path: "minified/aa/aa11.btf", sha256: "a".repeat(64), size: 10 };
const gone = { path: "minified/bb/bb22.btf", sha256: "b".repeat(64), size: 10 };
const set = (name: string, fingerprint: string): ObjectSet => ({ name, fingerprint, objects: [] });
const record = (fingerprint: string, fields: Partial<MinifiedRecord>): MinifiedRecord => ({
  fingerprint,
  coverage: [],
  ...fields,
});
// Only `minified` is read from an entry.
const entry = (minified: Record<string, MinifiedRecord>) => ({ minified }) as ManifestEntry;

beforeAll(async () => {
  archive = await mkdtemp(join(tmpdir(), "btfmill-sets-due-"));
  await mkdir(join(archive, "minified", "aa"), { recursive: true });
  await writeFile(join(archive, present.path), "minified");
});

afterAll(async () => {
  await rm(archive, { recursive: true, force: true });
});

describe("setsToMinify", () => {
  it("leaves a current set alone and a failed one with the same objects, and takes the rest, in the sets' order", async () => {
    const sets = [
      set("all", "f-all"),
      set("net", "f-net-2"),
      set("proc", "f-proc"),
      set("new", "f-new"),
      set("bad", "f-bad"),
    ];
    const due = await setsToMinify(
      entry({
        all: record("f-all", { file: present }),
        net: record("f-net-1", { file: present }),
        proc: record("f-proc", { file: gone }),
        bad: record("f-bad", { error: "bpftool: exited with 255" }),
      }),
      sets,
      localArchiveFiles(archive),
    );
    expect(due.map((due) => due.name)).toEqual(["net", "proc", "new"]);
  });

  it("takes every set of a kernel never minified, and none when no set is registered", async () => {
    const files = localArchiveFiles(archive);
    const sets = [set("all", "f-all"), set("net", "f-net")];
    expect((await setsToMinify({} as ManifestEntry, sets, files)).map((due) => due.name)).toEqual(["all", "net"]);
    expect(await setsToMinify(entry({ all: record("f-all", { file: present }) }), [], files)).toEqual([]);
  });

  it("tries a failed set again once its objects change", async () => {
    const due = await setsToMinify(
      entry({ net: record("f-net-1", { error: "bpftool: exited with 255" }) }),
      [set("net", "f-net-2")],
      localArchiveFiles(archive),
    );
    expect(due.map((due) => due.name)).toEqual(["net"]);
  });
});
