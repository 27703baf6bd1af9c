// A package body that survives breaks. When the connection resets, stalls past the idle timeout
// or ends short, it asks for the rest (`Range: bytes=<received>-`, with `If-Range` so that a
// file changed meanwhile comes back whole instead of spliced) and goes on yielding from there:
// the consumer's hash and decoder never see the break. When the server cannot give the rest (200
// or 416 to the range, a Content-Range or validator that does not fit) it throws RestartDownload,
// because bytes already consumed cannot be taken back: the caller starts over with fresh state.
import type { IncomingHttpHeaders } from "node:http";
import { FetchError } from "../../archive/errors.ts";
import type { Attempts } from "./attempts.ts";
import type { HttpSettings } from "./http-settings.ts";
import { HttpStatusError } from "./http-status-error.ts";
import { contentLength, requestWithRetries } from "./send-request.ts";
import type { HttpResponse } from "./send-request.ts";
import { TransientFetchError, describeNetworkFailure } from "./transient.ts";

/** Thrown when a download cannot be resumed and must start over from its first byte. */
export class RestartDownload extends TransientFetchError {}

export interface ResumableRequest {
  /** Bytes the whole file has (the index says so): less at the end of a body is a break. */
  size: number;
  settings: HttpSettings;
  /** Shared by every request for this file, across resumes and restarts. */
  attempts: Attempts;
  signal?: AbortSignal | undefined;
}

const retryHint = "retry later";

/** When a package download starts: the first response, once what failed to open was retried. */
export async function openResumable(url: string, request: ResumableRequest): Promise<ResumableDownload> {
  const response = await requestWithRetries(
    url,
    { settings: request.settings, signal: request.signal },
    request.attempts,
  );
  if (response.status < 200 || response.status >= 300) {
    response.body.destroy();
    throw new HttpStatusError(url, response.status, response.headers);
  }
  return new ResumableDownload(url, request, response);
}

export class ResumableDownload {
  /** Content-Length of the first response, when the server sent one. */
  readonly length: number | undefined;
  readonly #url: string;
  readonly #request: ResumableRequest;
  readonly #etag: string | undefined;
  readonly #validator: string | undefined;
  #response: HttpResponse;
  #received = 0;
  #closed = false;

  constructor(url: string, request: ResumableRequest, first: HttpResponse) {
    this.#url = url;
    this.#request = request;
    this.#response = first;
    this.length = contentLength(first.headers);
    this.#etag = strongEtag(first.headers);
    // RFC 9110 13.1.5: If-Range takes a strong ETag, else a Last-Modified date.
    this.#validator = this.#etag ?? single(first.headers["last-modified"]);
  }

  /** When the consumer reads the body: every byte of the file once, across as many responses as it takes. */
  async *chunks(): AsyncGenerator<Buffer, void, undefined> {
    const { size, settings, attempts } = this.#request;
    for (;;) {
      let failure: FetchError;
      try {
        for await (const chunk of this.#response.body as AsyncIterable<Buffer>) {
          this.#received += chunk.length;
          yield chunk;
        }
        if (this.#received >= size) return;
        failure = new TransientFetchError(this.#broke("the response ended early"), {
          package: this.#url,
          hint: retryHint,
        });
      } catch (error) {
        // Told transient or not by its cause: a reset or a timeout resumes, an abort ends here.
        failure = new FetchError(this.#broke(describeNetworkFailure(error, settings)), {
          package: this.#url,
          hint: retryHint,
          cause: error,
        });
      }
      this.#response.body.destroy();
      await attempts.retry(failure);
      this.#response = await this.#resume(failure);
      // The consumer may have given up while the rest was being asked for.
      if (this.#closed) {
        this.#response.body.destroy();
        return;
      }
    }
  }

  /** When the consumer is done or gave up: releases the connection, now or as soon as a pending resume answers. */
  close(): void {
    this.#closed = true;
    this.#response.body.destroy();
  }

  #broke(reason: string): string {
    return `the download broke after ${this.#received} of ${this.#request.size} bytes: ${reason}`;
  }

  async #resume(failure: FetchError): Promise<HttpResponse> {
    const { settings, signal, attempts, size } = this.#request;
    const headers: Record<string, string> = { range: `bytes=${this.#received}-` };
    if (this.#validator !== undefined) headers["if-range"] = this.#validator;
    const response = await requestWithRetries(this.#url, { settings, signal, headers }, attempts);
    const refusal = this.#refusal(response, size);
    if (refusal === undefined) return response;
    response.body.destroy();
    if (response.status !== 200 && response.status !== 206 && response.status !== 416) {
      throw new HttpStatusError(this.#url, response.status, response.headers);
    }
    throw new RestartDownload(`${failure.message}; asked for the rest, the server answered ${refusal}: starting over`, {
      package: this.#url,
      hint: retryHint,
      cause: failure,
    });
  }

  // Why a response to the range request cannot continue the body, or undefined when it can.
  #refusal(response: HttpResponse, size: number): string | undefined {
    if (response.status === 200) return "HTTP 200 with the whole file (no range support, or the file changed)";
    if (response.status !== 206) return `HTTP ${response.status}`;
    const range = single(response.headers["content-range"]);
    const expected = `bytes ${this.#received}-${size - 1}/${size}`;
    if (range !== expected && range !== `bytes ${this.#received}-${size - 1}/*`) {
      return `the range ${range ?? "(no Content-Range)"} where ${expected} was asked`;
    }
    const etag = strongEtag(response.headers);
    if (this.#etag !== undefined && etag !== undefined && etag !== this.#etag)
      return `ETag ${etag} where it was ${this.#etag}`;
    return undefined;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function strongEtag(headers: IncomingHttpHeaders): string | undefined {
  const etag = single(headers.etag);
  return etag !== undefined && !etag.startsWith("W/") ? etag : undefined;
}
