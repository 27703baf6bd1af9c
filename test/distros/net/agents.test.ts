// The shared undici agents: one per connect timeout and per-host limit, and the limit holds —
// requests beyond it wait for a socket rather than open another.
import { createServer } from "node:http";
import type { Socket } from "node:net";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentFor } from "../../../distros/net/agents.ts";
import { defaultHttpSettings } from "../../../distros/net/http-settings.ts";
import { listenOnLoopback, type Listening } from "../../helpers/loopback-listen.ts";

const sockets = new Set<Socket>();
let server: Listening;

beforeAll(async () => {
  const http = createServer((_request, response) => setTimeout(() => response.end("ok"), 50));
  http.on("connection", (socket) => sockets.add(socket));
  server = await listenOnLoopback(http);
});

afterAll(async () => {
  await server?.close();
});

describe("agentFor", () => {
  it("shares one agent per connect timeout and connection limit", () => {
    const one = { ...defaultHttpSettings, connectTimeoutMs: 1_111, connectionsPerHost: 2 };
    expect(agentFor(one)).toBe(agentFor({ ...one }));
    expect(agentFor(one)).not.toBe(agentFor({ ...one, connectionsPerHost: 3 }));
    expect(agentFor(one)).not.toBe(agentFor({ ...one, connectTimeoutMs: 2_222 }));
  });

  it("opens no more connections to a host than its limit, however many requests wait", async () => {
    const dispatcher = agentFor({ ...defaultHttpSettings, connectTimeoutMs: 3_333, connectionsPerHost: 2 });
    const bodies = await Promise.all(
      Array.from({ length: 6 }, async (_, index) =>
        (await request(`${server.url}/${index}`, { dispatcher })).body.text(),
      ),
    );
    expect(bodies).toEqual(Array(6).fill("ok"));
    expect(sockets.size).toBe(2);
  });
});
