// Which failures another attempt may cure: a connection refused, reset or timed out, a body cut
// short, and a server's passing trouble (HttpStatusError with a retryable status). Errors wrapped
// with context are told by their cause chain, where undici and node:net leave a `code`.
import { FetchError } from "../../archive/errors.ts";
import type { HttpSettings } from "./http-settings.ts";
import { HttpStatusError, isRetryableStatus } from "./http-status-error.ts";

const transientCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

// Deep enough for every wrapping btfmill does (attempt -> stage -> undici -> net), short of a cycle.
const maxCauseDepth = 8;

/** A failure worth another attempt that has no lower-level cause to tell it by: a body that ended short. */
export class TransientFetchError extends FetchError {}

/** When a request failed: whether another attempt may succeed. */
export function isTransient(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < maxCauseDepth && current instanceof Error; depth++) {
    if (current instanceof HttpStatusError) return isRetryableStatus(current.status);
    if (current instanceof TransientFetchError) return true;
    if (current.name === "AbortError") return false;
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && transientCodes.has(code)) return true;
    // node:net tries every address of a host (happy eyeballs) and reports them all together.
    if (current instanceof AggregateError && current.errors.some(isTransient)) return true;
    current = current.cause;
  }
  return false;
}

/** When a network failure goes into a message: what happened, naming the limit when a timeout hit. */
export function describeNetworkFailure(error: unknown, settings: HttpSettings): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return `no connection within ${settings.connectTimeoutMs} ms`;
    case "UND_ERR_HEADERS_TIMEOUT":
      return `no response headers within ${settings.headersTimeoutMs} ms`;
    case "UND_ERR_BODY_TIMEOUT":
      return `no bytes for ${settings.idleTimeoutMs} ms`;
    default:
      // A refused connection to a host with several addresses carries one error per address.
      if (error instanceof AggregateError) return error.errors.map((each: Error) => each.message).join("; ");
      return (error as Error).message;
  }
}
