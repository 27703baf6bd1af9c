// The minify stage on a kernel with modules: the stored modules tarball is read back member by
// member, opened only when a relocation misses in vmlinux, and a damaged one fails only the sets
// that need a module, with xz's words and what to do, leaving them due for the next run.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBtf } from "../../../archive/btf/index.ts";
import { writeBtfsTarball } from "../../../archive/btf-tarball.ts";
import { sha256Hex } from "../../../archive/file-digest.ts";
import { loadObjectSets, type ObjectSet } from "../../../pipeline/object-registry.ts";
import { extractStoredModules, minifySets, type ModuleSource } from "../../../pipeline/stages/minify.ts";
import { stopSpawner } from "../../../pipeline/tools/spawner.ts";
import { makeCoreObject } from "../../fixtures/bpf-objects.ts";
import { makeModule, makeVmlinux } from "../../fixtures/vmlinux.ts";

const kernel = "debian/12/x86_64/6.1.0-1-cloud-amd64";
let work: string;
let full: string;
let base: Buffer;
let tarball: string;
let sets: ObjectSet[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-minify-modules-"));
  full = join(work, "vmlinux.btf");
  await execa("pahole", [`--btf_encode_detached=${full}`, await makeVmlinux(join(work, "vmlinux"))]);
  base = await readFile(full);
  const members = [];
  for (const [name, source] of [
    ["nf_conntrack", "nf_conntrack"],
    ["xfs", "xfs"],
  ] as const) {
    const path = join(work, `${name}.btf`);
    const ko = await makeModule(join(work, `${name}.ko`), { source });
    await execa("pahole", [`--btf_base=${full}`, `--btf_encode_detached=${path}`, ko]);
    members.push({ path, name: `${name}.btf` });
  }
  tarball = join(work, "modules.btf.tar.xz");
  await writeBtfsTarball(members, tarball);
  await mkdir(join(work, "objects"));
  const object = (name: "tcprtt" | "conntrack") => makeCoreObject(join(work, "objects"), name);
  sets = await loadObjectSets(
    { net: [{ path: await object("tcprtt") }], ct: [{ path: await object("conntrack") }] },
    join(work, "archive"),
  );
});

afterAll(async () => {
  await stopSpawner();
  if (work) await rm(work, { recursive: true, force: true });
});

async function minifyWith(stored: string, only: string[]) {
  const scratch = await mkdtemp(join(work, "scratch-"));
  const modules: ModuleSource = {
    tarball: sha256Hex(await readFile(stored).catch(() => Buffer.alloc(0))),
    base,
    load: () => extractStoredModules(stored, join(scratch, "modules.tar"), { kernel }),
  };
  return await minifySets(
    full,
    openBtf(base),
    sets.filter((set) => only.includes(set.name)),
    { archiveRoot: join(work, "archive"), scratch, kernel, modules },
  );
}

describe("minifying a kernel with modules", () => {
  it("reads every <module>.btf of the stored tarball back by module name, byte for byte", async () => {
    const members = await extractStoredModules(tarball, join(work, "read.tar"), { kernel });
    expect([...members.keys()]).toEqual(["nf_conntrack", "xfs"]);
    expect(members.get("xfs")!.equals(await readFile(join(work, "xfs.btf")))).toBe(true);
  });

  it("never opens the modules tarball when every relocation resolves in vmlinux", async () => {
    // No tarball at this path: reading it would fail the set.
    const records = await minifyWith(join(work, "absent.modules.btf.tar.xz"), ["net"]);
    expect(records.net!.error).toBeUndefined();
    expect(records.net!.modules?.merged).toEqual([]);
  });

  it("fails only the sets that need a module when the tarball is damaged, saying what to do, and records them due again", async () => {
    const damaged = join(work, "damaged.modules.btf.tar.xz");
    const bytes = await readFile(tarball);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(damaged, bytes);
    const records = await minifyWith(damaged, ["net", "ct"]);
    expect(records.net!.error).toBeUndefined();
    expect(records.net!.file).toBeDefined();
    expect(records.ct!.error).toMatch(/xz.*restore it from the published site or a backup/s);
    // No `modules` on the record: the minify pass finds it out of date and tries again.
    expect(records.ct!.modules).toBeUndefined();
    expect(records.ct!.coverage[0]!.unresolved.map((miss) => miss.why)).toContain("kernel has no struct nf_conn");
  });

  it("merges the module a set needs and says where each relocation resolved", async () => {
    const records = await minifyWith(tarball, ["net", "ct"]);
    expect(records.ct!.modules?.merged).toEqual(["nf_conntrack"]);
    const coverage = records.ct!.coverage[0]!;
    expect(coverage.resolved).toBe(coverage.total);
    expect(new Set(coverage.resolvedInModules!.map((hit) => hit.module))).toEqual(new Set(["nf_conntrack"]));
  });
});
