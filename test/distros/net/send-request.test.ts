// One GET and its retries, against a loopback server that answers as told: passing troubles
// (503, 429) are sent again, answers (200, 404) come back, an unreachable server is named.
import { createServer } from "node:http";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FetchError } from "../../../archive/errors.ts";
import { Attempts } from "../../../distros/net/attempts.ts";
import { defaultHttpSettings } from "../../../distros/net/http-settings.ts";
import { contentLength, requestWithRetries, sendRequest } from "../../../distros/net/send-request.ts";
import { listenOnLoopback, type Listening } from "../../helpers/loopback-listen.ts";

const settings = defaultHttpSettings;
const policy = { attempts: 3, baseDelayMs: 5, maxDelayMs: 10, retryAfterCapMs: 1_000, maxWaitMs: 1_000 };
// Path -> the statuses of its successive answers; the last one repeats.
const script: Record<string, number[]> = { "/flaky": [503, 503, 200], "/gone": [404], "/down": [503] };
const served: string[] = [];
let server: Listening;

beforeAll(async () => {
  const counts = new Map<string, number>();
  server = await listenOnLoopback(
    createServer((request, response) => {
      const path = request.url ?? "/";
      const statuses = script[path] ?? [404];
      const count = counts.get(path) ?? 0;
      counts.set(path, count + 1);
      const status = statuses[Math.min(count, statuses.length - 1)]!;
      served.push(`${path} ${status} ${request.headers["user-agent"]}`);
      response.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "the file" : "no");
    }),
  );
});

afterAll(async () => {
  await server?.close();
});

describe("requestWithRetries", () => {
  it("sends again after a passing failure, counting every request, until an answer comes", async () => {
    const attempts = new Attempts(policy, undefined);
    const response = await requestWithRetries(`${server.url}/flaky`, { settings }, attempts);
    expect(response.status).toBe(200);
    expect(await text(response.body)).toBe("the file");
    expect(attempts.made).toBe(3);
    expect(served.filter((line) => line.startsWith("/flaky"))).toEqual([
      "/flaky 503 btfmill",
      "/flaky 503 btfmill",
      "/flaky 200 btfmill",
    ]);
  });

  it("returns a 404 as it is, after one request", async () => {
    const attempts = new Attempts(policy, undefined);
    const response = await requestWithRetries(`${server.url}/gone`, { settings }, attempts);
    response.body.destroy();
    expect(response.status).toBe(404);
    expect(attempts.made).toBe(1);
  });

  it("gives up on a server that keeps failing, after the policy's attempts", async () => {
    await expect(
      requestWithRetries(`${server.url}/down`, { settings }, new Attempts(policy, undefined)),
    ).rejects.toThrow(`GET ${server.url}/down answered HTTP 503 (gave up after 3 attempts)`);
  });
});

describe("sendRequest", () => {
  it("says which URL cannot be reached, and what to check", async () => {
    const error = await sendRequest("http://127.0.0.1:1/file", { settings }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FetchError);
    expect((error as FetchError).message).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:1\/file: /);
    expect((error as FetchError).hint).toBe("check the mirror URL in the config and the network");
  });
});

describe("contentLength", () => {
  it("reads a numeric Content-Length and nothing else", () => {
    expect(contentLength({ "content-length": "1234" })).toBe(1234);
    expect(contentLength({ "content-length": "many" })).toBeUndefined();
    expect(contentLength({})).toBeUndefined();
  });
});
