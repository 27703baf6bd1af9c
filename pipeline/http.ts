// HTTP for indexes and packages: timeouts on connect and on idle bodies, bounded buffers, and
// bodies handed out as streams so a package never sits whole in memory.
import type { Readable } from "node:stream";
import { Agent, interceptors, request } from "undici";
import { FetchError } from "./errors.ts";

const agent = new Agent({
  connectTimeout: 30_000,
  headersTimeout: 60_000,
  bodyTimeout: 120_000,
  connections: 8,
}).compose(interceptors.redirect({ maxRedirections: 5 }));

export interface HttpBody {
  body: Readable;
  /** Content-Length when the server sent one. */
  length: number | undefined;
}

export interface OpenOptions {
  signal?: AbortSignal;
  /** Answer `undefined` for a 404 instead of throwing: the caller treats "absent" as data. */
  allowMissing?: boolean;
}

/** When a stage needs a response body as a stream: the caller must consume or destroy it. */
export async function openUrl(url: string, options: OpenOptions & { allowMissing: true }): Promise<HttpBody | undefined>;
export async function openUrl(url: string, options?: OpenOptions): Promise<HttpBody>;
export async function openUrl(url: string, options: OpenOptions = {}): Promise<HttpBody | undefined> {
  let response;
  try {
    response = await request(url, {
      dispatcher: agent,
      signal: options.signal,
      headers: { "user-agent": "btfmill" },
    });
  } catch (cause) {
    throw new FetchError(`cannot reach ${url}: ${(cause as Error).message}`, {
      package: url,
      cause,
      hint: "check the mirror URL in the config and the network",
    });
  }
  const { statusCode, headers, body } = response;
  // undici reports destroying an unread body as an 'error' event; a body released early (a 404,
  // a vmlinux already out) must not take the process down with it. Readers that consume the
  // body (pipeline, for await) still see real errors through their own listeners.
  body.on("error", () => {});
  if (statusCode === 404 && options.allowMissing) {
    body.destroy();
    return undefined;
  }
  if (statusCode < 200 || statusCode >= 300) {
    body.destroy();
    throw new FetchError(`GET ${url} answered HTTP ${statusCode}`, {
      package: url,
      hint: statusCode === 404 ? "the mirror does not have this file: is the mirror URL or release right?" : "retry later",
    });
  }
  const lengthHeader = headers["content-length"];
  const length = typeof lengthHeader === "string" ? Number(lengthHeader) : undefined;
  return { body, length: Number.isFinite(length) ? length : undefined };
}

export interface FetchBytesOptions extends OpenOptions {
  /** Refuse bodies larger than this, so a bad index cannot exhaust memory. */
  maxBytes: number;
}

/** When an index (Release, Packages) is read whole: small files, bounded by `maxBytes`. */
export async function fetchBytes(url: string, options: FetchBytesOptions & { allowMissing: true }): Promise<Buffer | undefined>;
export async function fetchBytes(url: string, options: FetchBytesOptions): Promise<Buffer>;
export async function fetchBytes(url: string, options: FetchBytesOptions): Promise<Buffer | undefined> {
  const opened = await openUrl(url, options);
  if (opened === undefined) return undefined;
  const { body, length } = opened;
  if (length !== undefined && length > options.maxBytes) {
    body.destroy();
    throw new FetchError(`${url} is ${length} bytes, over the limit of ${options.maxBytes}`, { package: url });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > options.maxBytes) {
        throw new FetchError(`${url} exceeds the limit of ${options.maxBytes} bytes`, { package: url });
      }
      chunks.push(chunk);
    }
  } catch (cause) {
    if (cause instanceof FetchError) throw cause;
    throw new FetchError(`reading ${url} failed: ${(cause as Error).message}`, { package: url, cause });
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks, total);
}
