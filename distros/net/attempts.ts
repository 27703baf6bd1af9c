// The attempts of one index or package download. Every request counts, whether it opens the
// file, resumes it or starts it over, and all waits between them share one budget: a failing
// mirror costs at most `attempts` requests and `maxWaitMs` of waiting per file.
import { setTimeout as sleep } from "node:timers/promises";
import { BtfmillError, FetchError } from "../../archive/errors.ts";
import { HttpStatusError } from "./http-status-error.ts";
import type { RetryPolicy } from "./retry-policy.ts";
import { retryDelay } from "./retry-policy.ts";
import { isTransient } from "./transient.ts";

export interface RetryOptions {
  /** False when the server answered promptly and only the request must change (a download starting over). */
  wait: boolean;
}

export class Attempts {
  /** Requests sent so far. */
  made = 0;
  readonly #policy: RetryPolicy;
  readonly #signal: AbortSignal | undefined;
  #waitedMs = 0;

  constructor(policy: RetryPolicy, signal: AbortSignal | undefined) {
    this.#policy = policy;
    this.#signal = signal;
  }

  /** When a request is about to go out. */
  begin(): void {
    this.made++;
  }

  /**
   * When a request failed: waits until the next one may go, or throws `failure` itself when
   * another attempt cannot cure it, or a FetchError saying why no attempt is left.
   */
  async retry(failure: unknown, options: RetryOptions = { wait: true }): Promise<void> {
    if (this.#signal?.aborted || !isTransient(failure)) throw failure;
    const policy = this.#policy;
    if (this.made >= policy.attempts) throw this.#giveUp(failure, `gave up after ${this.#count()}`);
    if (!options.wait) return;
    const retryAfterMs = failure instanceof HttpStatusError ? failure.retryAfterMs : undefined;
    const delay = retryDelay(policy, this.made, retryAfterMs);
    if (this.#waitedMs + delay > policy.maxWaitMs) {
      throw this.#giveUp(
        failure,
        `gave up after ${this.#count()}: waiting ${delay} ms more would pass the retry budget of ${policy.maxWaitMs} ms`,
      );
    }
    this.#waitedMs += delay;
    await sleep(delay, undefined, { signal: this.#signal });
  }

  #count(): string {
    return this.made === 1 ? "1 attempt" : `${this.made} attempts`;
  }

  #giveUp(failure: unknown, why: string): FetchError {
    const known = failure instanceof BtfmillError ? failure : undefined;
    return new FetchError(`${(failure as Error).message} (${why})`, {
      package: known?.package,
      hint: "the server kept failing: the next run tries again; if it lasts, use another mirror",
      cause: failure,
    });
  }
}
