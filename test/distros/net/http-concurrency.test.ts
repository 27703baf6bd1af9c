import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchBytes } from "../../../distros/net/http.ts";
import { fetchVmlinux } from "../../../pipeline/stages/fetch.ts";
import { buildKernelDeb, kernelPackageFor } from "../../fixtures/kernel-deb.ts";
import type { KernelDeb } from "../../fixtures/kernel-deb.ts";
import { startFaultyServer } from "../../helpers/faulty-server.ts";

let dir: string;
let deb: KernelDeb;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-per-host-"));
  deb = await buildKernelDeb(dir, "kernel-xz", { compression: "xz", trailingBytes: 1024 * 1024 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Every answer waits a little, so that requests that may run together do.
const slow = Array.from({ length: 10 }, () => ({ delayMs: 150 }));

describe("connections per host", () => {
  it("opens at most 4 connections to one mirror by default, and queues the rest", async () => {
    const server = await startFaultyServer(Buffer.from("Suite: stable\n"), slow);
    try {
      const bodies = await Promise.all(slow.map(() => fetchBytes(server.url, { maxBytes: 1024 })));
      expect(bodies.map(String)).toEqual(slow.map(() => "Suite: stable\n"));
      expect(server.peakInFlight).toBe(4);
      expect(server.connections).toBe(4);
    } finally {
      await server.close();
    }
  });

  it("downloads packages from one mirror at most `connectionsPerHost` at a time", async () => {
    const server = await startFaultyServer(await readFile(deb.path), slow);
    try {
      const fetches = slow.slice(0, 5).map(async (_fault, index) =>
        fetchVmlinux(kernelPackageFor(deb, server.url), join(dir, `vmlinux-${index}`), {
          http: { connectionsPerHost: 2 },
        }),
      );
      const results = await Promise.all(fetches);
      expect(results.map((result) => result.sha256)).toEqual(fetches.map(() => deb.sha256));
      expect(server.peakInFlight).toBe(2);
      expect(server.connections).toBe(2);
    } finally {
      await server.close();
    }
  });
});
