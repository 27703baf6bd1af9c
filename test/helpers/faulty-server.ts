// A one-file server on 127.0.0.1 whose answers a test scripts request by request, for the faults
// a mirror shows: a reset after N bytes, a body that stalls, 503/429 with Retry-After, a server
// that ignores Range, a wrong Content-Length, a body that ends short, a file that changes between
// requests. A request without a fault gets a proper answer, with Range and If-Range honoured as
// nginx does, so a test sees exactly what the client asked and what it got.
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Fault {
  /** Answer this status with an empty body instead of the file. */
  status?: number;
  /** Retry-After header sent with `status`. */
  retryAfter?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Close the connection after this many body bytes. */
  resetAfter?: number;
  /** Send this many body bytes, then nothing more until the client goes away. */
  stallAfter?: number;
  /** Leave Content-Length out and end the body cleanly after this many bytes. */
  endAfter?: number;
  /** Announce this Content-Length, whatever the body has. */
  contentLength?: number;
  /** Answer 200 with the whole file, whatever Range asks. */
  ignoreRange?: boolean;
  /** From this request on, serve this content, with new validators. */
  replaceWith?: Buffer;
}

export type Validators = "etag" | "last-modified" | "none";

export interface RecordedRequest {
  range: string | undefined;
  ifRange: string | undefined;
  status: number;
}

export interface FaultyServer {
  /** URL of the file. */
  url: string;
  /** Every request so far, in order. */
  requests: RecordedRequest[];
  /** Most requests in progress at once. */
  peakInFlight: number;
  /** Connections opened so far. */
  connections: number;
  /** The ETag of the content now served, as the server sends it. */
  etag(): string;
  close(): Promise<void>;
}

// A stalled answer is given up after this long even if the client never goes away.
const maxStallMs = 10_000;

/** When a test needs a misbehaving mirror: serves `content`, answering request N as `faults[N]` says. */
export async function startFaultyServer(
  content: Buffer,
  faults: readonly Fault[] = [],
  validators: Validators = "etag",
): Promise<FaultyServer> {
  let current = content;
  let version = 1;
  let inFlight = 0;
  const state = { requests: [] as RecordedRequest[], peakInFlight: 0, connections: 0 };
  const etag = () => `"v${version}-${current.length}"`;
  const lastModified = () => new Date(Date.UTC(2024, 0, 1) + version * 1000).toUTCString();

  const answer = async (request: IncomingMessage, response: ServerResponse, fault: Fault, record: RecordedRequest) => {
    if (fault.replaceWith !== undefined) {
      current = fault.replaceWith;
      version++;
    }
    if (fault.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (validators === "etag") response.setHeader("etag", etag());
    if (validators === "last-modified") response.setHeader("last-modified", lastModified());
    if (fault.status !== undefined) {
      record.status = fault.status;
      if (fault.retryAfter !== undefined) response.setHeader("retry-after", fault.retryAfter);
      response.writeHead(fault.status).end();
      return;
    }
    let body = current;
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? "");
    const validatorHolds =
      record.ifRange === undefined || record.ifRange === etag() || record.ifRange === lastModified();
    if (range !== null && !fault.ignoreRange && validatorHolds) {
      const start = Number(range[1]);
      if (start >= current.length) {
        record.status = 416;
        response.writeHead(416, { "content-range": `bytes */${current.length}` }).end();
        return;
      }
      record.status = 206;
      response.statusCode = 206;
      response.setHeader("content-range", `bytes ${start}-${current.length - 1}/${current.length}`);
      body = current.subarray(start);
    } else {
      response.statusCode = 200;
    }
    if (fault.endAfter === undefined) response.setHeader("content-length", fault.contentLength ?? body.length);
    const cut = fault.resetAfter ?? fault.stallAfter ?? fault.endAfter;
    if (cut === undefined) {
      response.end(body);
      return;
    }
    response.write(body.subarray(0, cut), () => {
      if (fault.resetAfter !== undefined) response.destroy();
      if (fault.endAfter !== undefined) response.end();
      if (fault.stallAfter !== undefined) setTimeout(() => response.destroy(), maxStallMs).unref();
    });
  };

  const server = createServer((request, response) => {
    const fault = faults[state.requests.length] ?? {};
    const record: RecordedRequest = {
      range: request.headers.range,
      ifRange: single(request.headers["if-range"]),
      status: 200,
    };
    state.requests.push(record);
    inFlight++;
    state.peakInFlight = Math.max(state.peakInFlight, inFlight);
    response.on("close", () => inFlight--);
    answer(request, response, fault, record).catch((error: unknown) => response.destroy(error as Error));
  });
  server.on("connection", () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pool/linux.deb`;
  return {
    url,
    get requests() {
      return state.requests;
    },
    get peakInFlight() {
      return state.peakInFlight;
    },
    get connections() {
      return state.connections;
    },
    etag,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}
