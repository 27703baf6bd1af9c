import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { FetchError } from "../../../archive/errors.ts";
import { fetchBytes, openUrl } from "../../../distros/net/http.ts";
import type { HttpOverrides } from "../../../distros/net/http-settings.ts";
import { startFaultyServer } from "../../helpers/faulty-server.ts";
import type { Fault, FaultyServer } from "../../helpers/faulty-server.ts";
import { rejection } from "../../helpers/rejection.ts";

const index = Buffer.from("Origin: btfmill tests\nSuite: stable\n".repeat(200));
// Short timeouts and backoff so that four attempts take well under a second.
const http: HttpOverrides = { headersTimeoutMs: 300, idleTimeoutMs: 300, retry: { baseDelayMs: 10, maxDelayMs: 40 } };

async function withFaults(faults: Fault[], use: (server: FaultyServer) => Promise<void>): Promise<void> {
  const server = await startFaultyServer(index, faults);
  try {
    await use(server);
  } finally {
    await server.close();
  }
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

describe("fetchBytes", () => {
  it("retries a 503 and returns the body of the answer that worked", async () => {
    await withFaults([{ status: 503 }, { status: 502 }], async (server) => {
      expect((await fetchBytes(server.url, { maxBytes: 1 << 20, http })).equals(index)).toBe(true);
      expect(server.requests.map((request) => request.status)).toEqual([503, 502, 200]);
    });
  });

  it("waits as long as Retry-After asks before the next attempt", async () => {
    await withFaults([{ status: 503, retryAfter: "1" }], async (server) => {
      const { value, ms } = await timed(fetchBytes(server.url, { maxBytes: 1 << 20, http }));
      expect(value.equals(index)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(990);
      expect(server.requests).toHaveLength(2);
    });
  });

  it("waits no longer than retryAfterCapMs when a 429 asks for an hour", async () => {
    await withFaults([{ status: 429, retryAfter: "3600" }], async (server) => {
      const { ms } = await timed(
        fetchBytes(server.url, {
          maxBytes: 1 << 20,
          http: { ...http, retry: { ...http.retry, retryAfterCapMs: 200 } },
        }),
      );
      expect(ms).toBeGreaterThanOrEqual(190);
      expect(ms).toBeLessThan(1500);
      expect(server.requests.map((request) => request.status)).toEqual([429, 200]);
    });
  });

  it("gives up when Retry-After asks for more than the retry budget has left, saying so", async () => {
    await withFaults([{ status: 503, retryAfter: "5" }], async (server) => {
      const error = await rejection(
        fetchBytes(server.url, { maxBytes: 1 << 20, http: { ...http, retry: { ...http.retry, maxWaitMs: 1000 } } }),
      );
      expect(error).toBeInstanceOf(FetchError);
      expect(error.message).toBe(
        `GET ${server.url} answered HTTP 503 (gave up after 1 attempt: waiting 5000 ms more would pass the retry budget of 1000 ms)`,
      );
      expect(server.requests).toHaveLength(1);
    });
  });

  it("gives up after four attempts, saying how many and why", async () => {
    await withFaults([{ status: 503 }, { status: 503 }, { status: 500 }, { status: 503 }, {}], async (server) => {
      const error = await rejection(fetchBytes(server.url, { maxBytes: 1 << 20, http }));
      expect(error).toBeInstanceOf(FetchError);
      expect(error.message).toBe(`GET ${server.url} answered HTTP 503 (gave up after 4 attempts)`);
      expect(server.requests).toHaveLength(4);
    });
  });

  it("does not retry a 404, 403 or 400, and retries a 408", async () => {
    await withFaults([{ status: 404 }], async (server) => {
      expect(await fetchBytes(server.url, { maxBytes: 1 << 20, allowMissing: true, http })).toBeUndefined();
      expect(server.requests).toHaveLength(1);
    });
    for (const status of [404, 403, 400]) {
      await withFaults([{ status }], async (server) => {
        await expect(fetchBytes(server.url, { maxBytes: 1 << 20, http })).rejects.toThrow(
          `GET ${server.url} answered HTTP ${status}`,
        );
        expect(server.requests).toHaveLength(1);
      });
    }
    await withFaults([{ status: 408 }], async (server) => {
      expect((await fetchBytes(server.url, { maxBytes: 1 << 20, http })).equals(index)).toBe(true);
      expect(server.requests).toHaveLength(2);
    });
  });

  it("reads an index again from its start when the connection resets mid-body", async () => {
    await withFaults([{ resetAfter: 100 }], async (server) => {
      expect((await fetchBytes(server.url, { maxBytes: 1 << 20, http })).equals(index)).toBe(true);
      expect(server.requests.map((request) => request.range)).toEqual([undefined, undefined]);
    });
  });

  it("retries a body that stalls past the idle timeout, and one whose headers do not come", async () => {
    // The headers come 5 s late, far past the 300 ms timeout even on a loaded machine whose timers run late.
    await withFaults([{ stallAfter: 100 }, { delayMs: 5000 }], async (server) => {
      const { value, ms } = await timed(fetchBytes(server.url, { maxBytes: 1 << 20, http }));
      expect(value.equals(index)).toBe(true);
      expect(server.requests).toHaveLength(3);
      expect(ms).toBeGreaterThanOrEqual(590);
      expect(ms).toBeLessThan(3000);
    });
  });

  it("fails a stalled body within the idle timeout when no attempt is left", async () => {
    await withFaults([{ stallAfter: 100 }], async (server) => {
      const started = performance.now();
      const error = await rejection(
        fetchBytes(server.url, { maxBytes: 1 << 20, http: { ...http, retry: { attempts: 1 } } }),
      );
      expect(performance.now() - started).toBeLessThan(1500);
      expect(error.message).toBe(`reading ${server.url} failed: no bytes for 300 ms (gave up after 1 attempt)`);
    });
  });

  it("does not retry an index over its size limit", async () => {
    await withFaults([], async (server) => {
      await expect(fetchBytes(server.url, { maxBytes: 100, http })).rejects.toThrow(
        `${server.url} is ${index.length} bytes, over the limit of 100`,
      );
      expect(server.requests).toHaveLength(1);
    });
  });

  it("retries a refused connection, then names the attempts", async () => {
    // A port that was just listening and is closed now: nothing accepts there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const url = `http://127.0.0.1:${port}/dists/stable/Release`;
    const error = await rejection(
      fetchBytes(url, { maxBytes: 1 << 20, http: { ...http, retry: { ...http.retry, attempts: 3 } } }),
    );
    expect(error).toBeInstanceOf(FetchError);
    expect(error.message).toBe(
      `cannot reach ${url}: connect ECONNREFUSED 127.0.0.1:${port} (gave up after 3 attempts)`,
    );
  });
});

describe("openUrl", () => {
  it("retries what failed before the body and hands out the body of the answer that worked", async () => {
    await withFaults([{ status: 503 }], async (server) => {
      const { body, length } = await openUrl(server.url, { http });
      const chunks: Buffer[] = [];
      for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(index)).toBe(true);
      expect(length).toBe(index.length);
      expect(server.requests).toHaveLength(2);
    });
  });
});
