import { describe, expect, it } from "vitest";
import { FetchError, IntegrityError } from "../../../archive/errors.ts";
import { HttpStatusError } from "../../../distros/net/http-status-error.ts";
import { defaultRetryPolicy, retryDelay } from "../../../distros/net/retry-policy.ts";
import { TransientFetchError, isTransient } from "../../../distros/net/transient.ts";

const policy = { ...defaultRetryPolicy, baseDelayMs: 1000, maxDelayMs: 5000, retryAfterCapMs: 30_000 };

function coded(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe("retryDelay", () => {
  it("doubles the step per retry and waits between half of it and all of it", () => {
    expect([1, 2, 3].map((retry) => retryDelay(policy, retry, undefined, () => 0))).toEqual([500, 1000, 2000]);
    expect([1, 2, 3].map((retry) => retryDelay(policy, retry, undefined, () => 1))).toEqual([1000, 2000, 4000]);
  });

  it("never steps past maxDelayMs", () => {
    expect(retryDelay(policy, 10, undefined, () => 1)).toBe(5000);
  });

  it("obeys Retry-After instead of the backoff, up to retryAfterCapMs", () => {
    expect(retryDelay(policy, 1, 7000, () => 0)).toBe(7000);
    expect(retryDelay(policy, 1, 3_600_000, () => 0)).toBe(30_000);
  });
});

describe("HttpStatusError", () => {
  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.UTC(2024, 0, 1, 12, 0, 0);
    expect(new HttpStatusError("http://m/x", 503, { "retry-after": "120" }, now).retryAfterMs).toBe(120_000);
    expect(
      new HttpStatusError("http://m/x", 429, { "retry-after": "Mon, 01 Jan 2024 12:00:30 GMT" }, now).retryAfterMs,
    ).toBe(30_000);
    expect(new HttpStatusError("http://m/x", 503, { "retry-after": "soon" }, now).retryAfterMs).toBeUndefined();
    expect(new HttpStatusError("http://m/x", 503, {}, now).retryAfterMs).toBeUndefined();
  });
});

describe("isTransient", () => {
  it("retries 5xx, 408 and 429, and no other 4xx", () => {
    const statuses = [500, 502, 503, 504, 408, 429, 400, 401, 403, 404, 410, 416];
    expect(statuses.filter((status) => isTransient(new HttpStatusError("http://m/x", status, {})))).toEqual([
      500, 502, 503, 504, 408, 429,
    ]);
  });

  it("retries resets, refusals and timeouts, found through the cause chain", () => {
    for (const code of [
      "ECONNRESET",
      "ECONNREFUSED",
      "UND_ERR_SOCKET",
      "UND_ERR_CONNECT_TIMEOUT",
      "UND_ERR_HEADERS_TIMEOUT",
      "UND_ERR_BODY_TIMEOUT",
    ]) {
      expect(
        isTransient(new FetchError("wrapped", { cause: new FetchError("twice", { cause: coded(code) }) })),
        code,
      ).toBe(true);
    }
    expect(isTransient(new AggregateError([coded("ECONNREFUSED"), coded("ECONNREFUSED")]))).toBe(true);
    expect(isTransient(new TransientFetchError("the response ended early"))).toBe(true);
  });

  it("does not retry an abort, an unknown host, a limit or a bad checksum", () => {
    expect(
      isTransient(
        new FetchError("cancelled", {
          cause: Object.assign(new Error("aborted"), { name: "AbortError", code: "ECONNRESET" }),
        }),
      ),
    ).toBe(false);
    expect(isTransient(new FetchError("cannot reach", { cause: coded("ENOTFOUND") }))).toBe(false);
    expect(isTransient(new FetchError("over the limit of 1024 bytes"))).toBe(false);
    expect(isTransient(new IntegrityError("sha256 differs"))).toBe(false);
  });
});
