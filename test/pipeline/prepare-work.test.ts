// What run and plan both read before deciding anything, against a signed loopback Debian mirror:
// the selected sources, the archive, the flavor chains of this shard, and the steps run hands in,
// in their order; a settled source skipped unread, and past its Valid-Until verified and kept while
// its indexes are the same. A filter that selects nothing is refused before anything is read.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import type { SourceState } from "../../archive/manifest.ts";
import { openArchiveState } from "../../archive/state.ts";
import { parseConfig, type Config } from "../../pipeline/config.ts";
import type { RunEvent } from "../../pipeline/events.ts";
import type { FlavorChain } from "../../pipeline/flavor-chains.ts";
import { prepareWork, type PreparationSteps } from "../../pipeline/prepare-work.ts";
import { dbgPackage } from "../fixtures/apt-mirror.ts";
import { serveBookwormMirror } from "../fixtures/bookworm-mirror.ts";
import { rejection } from "../helpers/rejection.ts";
import type { StaticServer } from "../helpers/static-server.ts";

let work: string;
let server: StaticServer;
let config: Config;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-prepare-"));
  const served = await serveBookwormMirror(work, [
    dbgPackage({ kernel: "6.1.0-1-cloud-amd64", version: "6.1.1-1" }),
    dbgPackage({ kernel: "6.1.0-2-cloud-amd64", version: "6.1.2-1" }),
    dbgPackage({ kernel: "6.1.0-2-amd64", version: "6.1.2-1" }),
  ]);
  server = served.server;
  config = parseConfig(
    {
      archive: join(work, "archive"),
      sources: [
        { distro: "debian", release: "12", arch: "x86_64", mirror: server.url, keyring: served.mirror.keyring },
      ],
    },
    "test.json",
    work,
  );
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

// The chains `visit` was handed, by source.
function steps(log: string[], visited = new Map<string, FlavorChain[]>()): PreparationSteps {
  const events: RunEvent[] = [];
  return {
    now: () => new Date("2026-12-02T00:00:00Z"),
    reporter: { event: (event) => void events.push(event), close() {} },
    beforeReading: async () => void log.push(`before reading (${server.requests.length} requests)`),
    afterOpening: async (state) => void log.push(`after opening (${state.sourceIds().length} sources)`),
    visit: async (source, chains) => {
      log.push(`visit ${source}`);
      visited.set(source, chains);
    },
  };
}

async function chainsOf(selection: Parameters<typeof prepareWork>[1]): Promise<FlavorChain[]> {
  const visited = new Map<string, FlavorChain[]>();
  await prepareWork(config, selection, steps([], visited));
  return [...visited.values()].flat();
}

describe("prepareWork", () => {
  it("reads the mirror and the archive between run's two steps, and visits each source with one chain per flavor, oldest first", async () => {
    const log: string[] = [];
    const visited = new Map<string, FlavorChain[]>();
    const before = server.requests.length;
    const prepared = await prepareWork(config, {}, steps(log, visited));
    expect(log).toEqual([`before reading (${before} requests)`, "after opening (0 sources)", "visit debian/12/x86_64"]);
    expect(server.requests.length).toBeGreaterThan(before);
    expect(prepared.selected).toHaveLength(1);
    expect(prepared.stale).toEqual([]);
    expect(prepared.state.manifest.sources["debian/12/x86_64"]?.status).toBe("ok");
    const chains = visited.get("debian/12/x86_64")!.map((chain) => chain.packages.map((pkg) => pkg.key.kernel));
    expect(chains.sort()).toEqual([["6.1.0-1-cloud-amd64", "6.1.0-2-cloud-amd64"], ["6.1.0-2-amd64"]].sort());
  });

  it("gives each shard its own chains, together all of them", async () => {
    const units = async (index: number) => (await chainsOf({ shard: { index, count: 2 } })).map((chain) => chain.unit);
    const [one, two] = [await units(1), await units(2)];
    expect([...one, ...two].sort()).toEqual((await chainsOf({})).map((chain) => chain.unit).sort());
    expect(one.filter((unit) => two.includes(unit))).toEqual([]);
  });

  it("skips a settled source unread; past its Valid-Until, verifies it and keeps it settled while the indexes it lists are the same", async () => {
    // A full read that settles the source, as a run that finds nothing to do does.
    const settling = await prepareWork(
      config,
      {},
      {
        ...steps([]),
        visit: async (_, _chains, _opened, read) => read?.settle(),
      },
    );
    await mkdir(config.archive, { recursive: true });
    await settling.state.commit();
    const record = async (change: (settled: NonNullable<SourceState["settled"]>) => SourceState["settled"]) => {
      const state = await openArchiveState(config.archive);
      const held = state.manifest.sources["debian/12/x86_64"]!;
      held.settled = change(held.settled!);
      await state.commit();
    };
    const readAt = async (now: string) => {
      const visited: string[] = [];
      const settled: string[] = [];
      const before = server.requests.length;
      const prepared = await prepareWork(
        config,
        {},
        {
          ...steps([]),
          now: () => new Date(now),
          visit: async (source) => void visited.push(source),
          settled: (source, kernels) => void settled.push(`${source} ${kernels}`),
        },
      );
      const paths = server.requests.slice(before).map((request) => request.path.replace(/^.*\/dists\//, ""));
      return {
        visited,
        settled,
        indexes: paths.filter((path) => path.includes("/binary-")).length,
        validUntil: prepared.state.manifest.sources["debian/12/x86_64"]?.settled?.validUntil,
      };
    };
    await record((settled) => ({ ...settled, validUntil: "2026-12-02T00:00:00.000Z" }));
    expect(await readAt("2026-12-01T23:59:59Z")).toEqual({
      visited: [],
      settled: ["debian/12/x86_64 3"],
      indexes: 0,
      validUntil: "2026-12-02T00:00:00.000Z",
    });
    // The fixture's Releases carry no Valid-Until: verified again, the source no longer has one.
    expect(await readAt("2026-12-02T00:00:00Z")).toEqual({
      visited: [],
      settled: ["debian/12/x86_64 3"],
      indexes: 0,
      validUntil: undefined,
    });
    await record((settled) => ({ ...settled, contentKey: "0".repeat(64) }));
    const other = await readAt("2026-12-02T00:00:00Z");
    expect(other.visited).toEqual(["debian/12/x86_64"]);
    expect(other.indexes).toBeGreaterThan(0);
  });

  it("refuses filters that select no source before any step runs or anything is read", async () => {
    const log: string[] = [];
    const before = server.requests.length;
    const error = await rejection(prepareWork(config, { filters: { distro: "ubuntu" } }, steps(log)));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('no source in test.json matches the filters {"distro":"ubuntu"}');
    expect(log).toEqual([]);
    expect(server.requests.length).toBe(before);
  });
});
