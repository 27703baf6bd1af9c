import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IntegrityError } from "../../archive/errors.ts";
import { loadObjectSets } from "../../pipeline/object-registry.ts";
import { makeCoreObject } from "../fixtures/bpf-objects.ts";
import { startStaticServer, type StaticServer } from "../helpers/static-server.ts";

describe("object registry", () => {
  let work: string;
  let server: StaticServer;
  let tcprtt: string;
  let kprobe: string;
  const sha = async (path: string) =>
    createHash("sha256")
      .update(await readFile(path))
      .digest("hex");

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-objects-"));
    await mkdir(join(work, "served"));
    tcprtt = await makeCoreObject(join(work, "served"), "tcprtt");
    kprobe = await makeCoreObject(work, "kprobe");
    server = await startStaticServer(join(work, "served"));
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("adds the union set `all`, fetches pinned URLs once into the cache, and fingerprints by content", async () => {
    const archive = join(work, "archive");
    const url = `${server.url}/${basename(tcprtt)}`;
    const sets = await loadObjectSets({ net: [{ url, sha256: await sha(tcprtt) }], proc: [{ path: kprobe }] }, archive);
    expect(sets.map((set) => [set.name, set.objects.map((object) => object.name).sort()])).toEqual([
      ["all", ["kprobe.o", "tcprtt.o"]],
      ["net", ["tcprtt.o"]],
      ["proc", ["kprobe.o"]],
    ]);
    expect(sets[1]!.objects[0]!.parsed.relocations.length).toBeGreaterThan(0);
    const again = await loadObjectSets(
      { net: [{ url, sha256: await sha(tcprtt) }], proc: [{ path: kprobe }] },
      archive,
    );
    expect(again.map((set) => set.fingerprint)).toEqual(sets.map((set) => set.fingerprint));
    expect(server.requests.filter((request) => request.path.endsWith("tcprtt.o"))).toHaveLength(1);
  });

  it("refuses an object whose sha256 is not the pinned one, naming it", async () => {
    const url = `${server.url}/${basename(tcprtt)}`;
    await expect(loadObjectSets({ net: [{ url, sha256: "0".repeat(64) }] }, join(work, "archive2"))).rejects.toThrow(
      IntegrityError,
    );
    await expect(
      loadObjectSets({ proc: [{ path: kprobe, sha256: "1".repeat(64) }] }, join(work, "archive2")),
    ).rejects.toThrow(/kprobe\.o has sha256 [0-9a-f]{64}, the config pins 1{64}/);
  });

  it("no objects registered: no sets, nothing is minified", async () => {
    expect(await loadObjectSets({}, join(work, "archive3"))).toEqual([]);
  });
});
