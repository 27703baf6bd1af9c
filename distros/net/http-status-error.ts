// A response whose status says the request failed. 5xx, 408 and 429 are a server's passing
// trouble and worth another attempt (after Retry-After when it sent one); any other 4xx is an
// answer that another attempt would only repeat.
import type { IncomingHttpHeaders } from "node:http";
import { FetchError } from "../../archive/errors.ts";

export class HttpStatusError extends FetchError {
  readonly status: number;
  /** The wait Retry-After asked for, when the server sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(url: string, status: number, headers: IncomingHttpHeaders, now: number = Date.now()) {
    super(`GET ${url} answered HTTP ${status}`, {
      package: url,
      hint: status === 404 ? "the mirror does not have this file: is the mirror URL or release right?" : "retry later",
    });
    this.status = status;
    this.retryAfterMs = parseRetryAfter(headers["retry-after"], now);
  }
}

/** When a response arrives: whether its status is a failure worth another attempt. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

// RFC 9110 10.2.3: either delay-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT").
function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  if (typeof value !== "string") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
