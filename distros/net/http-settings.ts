// The knobs of btfmill's HTTP: timeouts, connections per host and the retry policy, with the
// defaults a nightly run over public mirrors needs. Callers override any subset.
import type { RetryPolicy } from "./retry-policy.ts";
import { defaultRetryPolicy } from "./retry-policy.ts";

export interface HttpSettings {
  /** TCP (and TLS) connection set up. */
  connectTimeoutMs: number;
  /** From the request written to the response's headers. */
  headersTimeoutMs: number;
  /** No body bytes for this long breaks the response: a stalled mirror, resumed or retried. */
  idleTimeoutMs: number;
  /** Sockets open at once to one origin; further requests wait in line for one. */
  connectionsPerHost: number;
  retry: RetryPolicy;
}

export interface HttpOverrides extends Partial<Omit<HttpSettings, "retry">> {
  retry?: Partial<RetryPolicy>;
}

export const defaultHttpSettings: HttpSettings = {
  connectTimeoutMs: 30_000,
  headersTimeoutMs: 60_000,
  idleTimeoutMs: 120_000,
  connectionsPerHost: 4,
  retry: defaultRetryPolicy,
};

function merge(base: HttpSettings, overrides: HttpOverrides): HttpSettings {
  return { ...base, ...overrides, retry: { ...base.retry, ...overrides.retry } };
}

// The config's `http` block, set once per process by the command that read the config: index
// reads deep in the distro readers get it without every call passing it down.
let configured: HttpSettings = defaultHttpSettings;

/** When a command has read its config: the process's HTTP settings become the defaults with `overrides`. */
export function configureHttp(overrides: HttpOverrides = {}): void {
  configured = merge(defaultHttpSettings, overrides);
}

/** When a request is prepared: the configured settings with the caller's overrides on top. */
export function httpSettings(overrides: HttpOverrides = {}): HttpSettings {
  return merge(configured, overrides);
}
