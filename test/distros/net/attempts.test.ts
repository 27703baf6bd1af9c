// One download's attempts: which failures are tried again, how many requests and how much waiting
// one file may cost, and what the caller is told when no attempt is left.
import { describe, expect, it } from "vitest";
import { FetchError, IntegrityError } from "../../../archive/errors.ts";
import { Attempts } from "../../../distros/net/attempts.ts";
import { HttpStatusError } from "../../../distros/net/http-status-error.ts";
import type { RetryPolicy } from "../../../distros/net/retry-policy.ts";
import { TransientFetchError } from "../../../distros/net/transient.ts";

const policy: RetryPolicy = { attempts: 3, baseDelayMs: 10, maxDelayMs: 20, retryAfterCapMs: 60_000, maxWaitMs: 1_000 };
const cutShort = () =>
  new TransientFetchError("the body of pool/x.deb ended at 10 of 20 bytes", { package: "pool/x.deb" });

async function failWith(attempts: Attempts, failure: unknown, options?: { wait: boolean }): Promise<unknown> {
  attempts.begin();
  return attempts.retry(failure, options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
}

describe("Attempts", () => {
  it("lets a transient failure be tried again until `attempts` requests were made, then gives up naming the count and the package", async () => {
    const attempts = new Attempts(policy, undefined);
    expect(await failWith(attempts, cutShort())).toBeUndefined();
    expect(await failWith(attempts, cutShort())).toBeUndefined();
    const last = cutShort();
    const error = await failWith(attempts, last);
    expect(error).toBeInstanceOf(FetchError);
    expect((error as FetchError).message).toBe(
      "the body of pool/x.deb ended at 10 of 20 bytes (gave up after 3 attempts)",
    );
    expect((error as FetchError).package).toBe("pool/x.deb");
    expect((error as FetchError).cause).toBe(last);
    expect(attempts.made).toBe(3);
  });

  it("hands back a failure another attempt cannot cure, unchanged", async () => {
    const attempts = new Attempts(policy, undefined);
    const mismatch = new IntegrityError("sha256 of pool/x.deb does not match the index");
    expect(await failWith(attempts, mismatch)).toBe(mismatch);
    const notFound = new HttpStatusError("http://127.0.0.1:1/x", 404, {});
    expect(await failWith(attempts, notFound)).toBe(notFound);
  });

  it("gives up before a wait that would pass the budget, as when Retry-After asks for more than it", async () => {
    const attempts = new Attempts({ ...policy, attempts: 10 }, undefined);
    const busy = new HttpStatusError("http://127.0.0.1:1/x", 503, { "retry-after": "5" });
    const error = await failWith(attempts, busy);
    expect((error as FetchError).message).toBe(
      "GET http://127.0.0.1:1/x answered HTTP 503 (gave up after 1 attempt: waiting 5000 ms more would pass the retry budget of 1000 ms)",
    );
  });

  it("obeys Retry-After within the budget, and starts over at once when told not to wait", async () => {
    const attempts = new Attempts({ ...policy, attempts: 10 }, undefined);
    let started = performance.now();
    expect(
      await failWith(attempts, new HttpStatusError("http://127.0.0.1:1/x", 429, { "retry-after": "1" })),
    ).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    started = performance.now();
    expect(await failWith(attempts, cutShort(), { wait: false })).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(50);
    expect(attempts.made).toBe(2);
  });

  it("stops at once when the run is cancelled, with the failure as it was", async () => {
    const controller = new AbortController();
    controller.abort(new Error("interrupted"));
    const failure = cutShort();
    expect(await failWith(new Attempts(policy, controller.signal), failure)).toBe(failure);
  });
});
