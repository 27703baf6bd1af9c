// How often and how patiently a failed request is tried again. The backoff doubles per retry
// with "equal jitter" (half of each step fixed, half random), so kernels that failed together
// against one mirror do not come back in lockstep, yet every retry waits at least half its step.

export interface RetryPolicy {
  /** Requests per index or package download, the first one included. */
  attempts: number;
  /** Step of the first retry; each further retry doubles it. */
  baseDelayMs: number;
  /** Largest step of the backoff. */
  maxDelayMs: number;
  /** Longest Retry-After obeyed: a server that asks for more gets this much. */
  retryAfterCapMs: number;
  /** All waits of one index or package together: a retry that would pass it is not made. */
  maxWaitMs: number;
}

// Four requests spread over 1.75-3.5 s ride out a mirror's restart or a reset connection; a
// longer outage is the next run's business (a FetchError is recorded as transient).
export const defaultRetryPolicy: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  retryAfterCapMs: 60_000,
  maxWaitMs: 120_000,
};

/** When a request failed and another one is allowed: the wait before retry number `retry` (1 for the first). */
export function retryDelay(
  policy: RetryPolicy,
  retry: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.retryAfterCapMs);
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(step / 2 + (random() * step) / 2);
}
