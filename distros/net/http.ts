// HTTP for indexes and packages: timeouts on connect, headers and idle bodies, retries with
// backoff for what a mirror gets over (distros/net/), bounded buffers, and bodies handed out as
// streams so a package never sits whole in memory.
import type { Readable } from "node:stream";
import { FetchError } from "../../archive/errors.ts";
import { Attempts } from "./attempts.ts";
import type { HttpOverrides, HttpSettings } from "./http-settings.ts";
import { httpSettings } from "./http-settings.ts";
import { HttpStatusError } from "./http-status-error.ts";
import { contentLength, requestWithRetries } from "./send-request.ts";
import { RestartDownload, openResumable } from "./resumable-download.ts";
import { describeNetworkFailure } from "./transient.ts";

export interface HttpBody {
  body: Readable;
  /** Content-Length when the server sent one. */
  length: number | undefined;
}

export interface OpenOptions {
  signal?: AbortSignal;
  /** Answer `undefined` for a 404 instead of throwing: the caller treats "absent" as data. */
  allowMissing?: boolean;
  /** Timeouts, connections per host and retries, when not the defaults. */
  http?: HttpOverrides;
}

/**
 * When a stage needs a response body as a stream: the caller must consume or destroy it. Failures
 * to open are retried; a body that breaks later is the caller's (a package resumes it itself).
 */
export async function openUrl(
  url: string,
  options: OpenOptions & { allowMissing: true },
): Promise<HttpBody | undefined>;
export async function openUrl(url: string, options?: OpenOptions): Promise<HttpBody>;
export async function openUrl(url: string, options: OpenOptions = {}): Promise<HttpBody | undefined> {
  const settings = httpSettings(options.http);
  return openWith(url, options, settings, new Attempts(settings.retry, options.signal));
}

export interface FetchBytesOptions extends OpenOptions {
  /** Refuse bodies larger than this, so a bad index cannot exhaust memory. */
  maxBytes: number;
}

/** When an index (Release, Packages) is read whole: small files, bounded by `maxBytes`, read again from the start when the body breaks. */
export async function fetchBytes(
  url: string,
  options: FetchBytesOptions & { allowMissing: true },
): Promise<Buffer | undefined>;
export async function fetchBytes(url: string, options: FetchBytesOptions): Promise<Buffer>;
export async function fetchBytes(url: string, options: FetchBytesOptions): Promise<Buffer | undefined> {
  const settings = httpSettings(options.http);
  const attempts = new Attempts(settings.retry, options.signal);
  for (;;) {
    const opened = await openWith(url, options, settings, attempts);
    if (opened === undefined) return undefined;
    try {
      return await readWhole(url, opened, options.maxBytes, settings);
    } catch (error) {
      await attempts.retry(error);
    }
  }
}

/** A body whose size a signed index gives: `chunks` yields every byte once, across resumed responses. */
export interface SizedBody {
  /** Content-Length of the first response, when the server sent one. */
  length: number | undefined;
  chunks: AsyncIterable<Buffer>;
}

function restartIn(error: unknown): RestartDownload | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    if (current instanceof RestartDownload) return current;
  }
  return undefined;
}

/**
 * When an index of known size (Packages, primary) is read as it downloads: a break is resumed with
 * a Range request, unseen by `consume`; when the server cannot resume, `consume` runs again from
 * the first byte with a fresh body. Failures to open are retried as everywhere.
 */
export async function readSized<T>(
  url: string,
  size: number,
  options: OpenOptions & { allowMissing: true },
  consume: (body: SizedBody) => Promise<T>,
): Promise<T | undefined>;
export async function readSized<T>(
  url: string,
  size: number,
  options: OpenOptions,
  consume: (body: SizedBody) => Promise<T>,
): Promise<T>;
export async function readSized<T>(
  url: string,
  size: number,
  options: OpenOptions,
  consume: (body: SizedBody) => Promise<T>,
): Promise<T | undefined> {
  const settings = httpSettings(options.http);
  const attempts = new Attempts(settings.retry, options.signal);
  for (;;) {
    let download;
    try {
      download = await openResumable(url, { size, settings, attempts, signal: options.signal });
    } catch (error) {
      if (options.allowMissing && error instanceof HttpStatusError && error.status === 404) return undefined;
      throw error;
    }
    try {
      return await consume({ length: download.length, chunks: download.chunks() });
    } catch (error) {
      const restart = restartIn(error);
      if (restart === undefined) throw error;
      await attempts.retry(restart, { wait: false });
    } finally {
      download.close();
    }
  }
}

async function openWith(
  url: string,
  options: OpenOptions,
  settings: HttpSettings,
  attempts: Attempts,
): Promise<HttpBody | undefined> {
  const { status, headers, body } = await requestWithRetries(url, { settings, signal: options.signal }, attempts);
  if (status === 404 && options.allowMissing) {
    body.destroy();
    return undefined;
  }
  if (status < 200 || status >= 300) {
    body.destroy();
    throw new HttpStatusError(url, status, headers);
  }
  return { body, length: contentLength(headers) };
}

async function readWhole(
  url: string,
  { body, length }: HttpBody,
  maxBytes: number,
  settings: HttpSettings,
): Promise<Buffer> {
  if (length !== undefined && length > maxBytes) {
    body.destroy();
    throw new FetchError(`${url} is ${length} bytes, over the limit of ${maxBytes}`, { package: url });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new FetchError(`${url} exceeds the limit of ${maxBytes} bytes`, { package: url });
      }
      chunks.push(chunk);
    }
  } catch (cause) {
    if (cause instanceof FetchError) throw cause;
    throw new FetchError(`reading ${url} failed: ${describeNetworkFailure(cause, settings)}`, {
      package: url,
      cause,
      hint: "retry later",
    });
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks, total);
}
