// One GET through the shared agents, and the loop that repeats it while the failure is the
// network's or the server's passing trouble. Statuses other than those come back to the caller,
// who knows what a 404 or a 206 means for it.
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { request } from "undici";
import { FetchError } from "../../archive/errors.ts";
import { agentFor } from "./agents.ts";
import type { Attempts } from "./attempts.ts";
import type { HttpSettings } from "./http-settings.ts";
import { HttpStatusError, isRetryableStatus } from "./http-status-error.ts";
import { describeNetworkFailure } from "./transient.ts";

export interface HttpRequest {
  settings: HttpSettings;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** When one request goes out: the response, or a FetchError saying the server could not be reached. */
export async function sendRequest(url: string, { settings, headers, signal }: HttpRequest): Promise<HttpResponse> {
  let response;
  try {
    response = await request(url, {
      dispatcher: agentFor(settings),
      signal,
      headers: { "user-agent": "btfmill", ...headers },
      headersTimeout: settings.headersTimeoutMs,
      bodyTimeout: settings.idleTimeoutMs,
    });
  } catch (cause) {
    throw new FetchError(`cannot reach ${url}: ${describeNetworkFailure(cause, settings)}`, {
      package: url,
      cause,
      hint: "check the mirror URL in the config and the network",
    });
  }
  // undici reports destroying an unread body as an 'error' event; a body released early (a 404,
  // a vmlinux already out) must not take the process down with it. Readers that consume the
  // body (pipeline, for await) still see real errors through their own listeners.
  response.body.on("error", () => {});
  return { status: response.statusCode, headers: response.headers, body: response.body };
}

/** When a file is asked for: sends until an answer that is not a passing failure, as `attempts` allows. */
export async function requestWithRetries(url: string, options: HttpRequest, attempts: Attempts): Promise<HttpResponse> {
  for (;;) {
    attempts.begin();
    let failure: unknown;
    try {
      const response = await sendRequest(url, options);
      if (!isRetryableStatus(response.status)) return response;
      response.body.destroy();
      failure = new HttpStatusError(url, response.status, response.headers);
    } catch (error) {
      failure = error;
    }
    await attempts.retry(failure);
  }
}

/** When a response's headers are in: its Content-Length, if it sent a usable one. */
export function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers["content-length"];
  const length = typeof value === "string" ? Number(value) : undefined;
  return Number.isFinite(length) ? length : undefined;
}
