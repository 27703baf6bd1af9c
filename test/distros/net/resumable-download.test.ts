// A package body that survives breaks, against a loopback server scripted per test: it resumes
// with Range and If-Range where the server can give the rest, and starts over where it cannot.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Attempts } from "../../../distros/net/attempts.ts";
import { defaultHttpSettings } from "../../../distros/net/http-settings.ts";
import { RestartDownload, openResumable } from "../../../distros/net/resumable-download.ts";
import { listenOnLoopback, type Listening } from "../../helpers/loopback-listen.ts";

const file = Buffer.from(Array.from({ length: 64 * 1024 }, (_, index) => index % 251));
const policy = { attempts: 4, baseDelayMs: 5, maxDelayMs: 10, retryAfterCapMs: 1_000, maxWaitMs: 1_000 };

type Answer = (request: IncomingMessage, response: ServerResponse) => void;
let answers: Answer[] = [];
let asked: { range: string | undefined; ifRange: string | string[] | undefined }[] = [];
let server: Listening;

// The first answer: the whole file announced, half of it sent, then the connection cut.
const cutHalfway =
  (etag: string): Answer =>
  (_request, response) => {
    response.writeHead(200, { "content-length": file.length, etag });
    response.write(file.subarray(0, file.length / 2), () => response.socket?.destroy());
  };

async function download(): Promise<Buffer> {
  const body = await openResumable(`${server.url}/pkg.deb`, {
    size: file.length,
    settings: defaultHttpSettings,
    attempts: new Attempts(policy, undefined),
  });
  const chunks: Buffer[] = [];
  for await (const chunk of body.chunks()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  server = await listenOnLoopback(
    createServer((request, response) => {
      asked.push({ range: request.headers.range, ifRange: request.headers["if-range"] });
      const answer = answers.shift();
      if (answer === undefined) response.writeHead(500).end();
      else answer(request, response);
    }),
  );
});

afterAll(async () => {
  await server?.close();
});

describe("ResumableDownload", () => {
  it("asks for the rest with Range and If-Range after a cut, and yields every byte once", async () => {
    asked = [];
    answers = [
      cutHalfway('"v1"'),
      (request, response) => {
        const from = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? "")?.[1]);
        response
          .writeHead(206, {
            "content-range": `bytes ${from}-${file.length - 1}/${file.length}`,
            "content-length": file.length - from,
            etag: '"v1"',
          })
          .end(file.subarray(from));
      },
    ];
    expect((await download()).equals(file)).toBe(true);
    expect(asked[0]).toEqual({ range: undefined, ifRange: undefined });
    expect(asked[1]?.ifRange).toBe('"v1"');
    expect(asked[1]?.range).toMatch(/^bytes=\d+-$/);
  });

  it("starts over when the server answers the range with the whole file", async () => {
    answers = [
      cutHalfway('"v1"'),
      (_request, response) => response.writeHead(200, { "content-length": file.length, etag: '"v1"' }).end(file),
    ];
    const error = await download().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RestartDownload);
    expect((error as Error).message).toMatch(
      /^the download broke after \d+ of 65536 bytes: .*; asked for the rest, the server answered HTTP 200 with the whole file .*: starting over$/,
    );
  });

  it("starts over when the rest comes from a file whose ETag changed", async () => {
    answers = [
      cutHalfway('"v1"'),
      (request, response) => {
        const from = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? "")?.[1]);
        response
          .writeHead(206, { "content-range": `bytes ${from}-${file.length - 1}/${file.length}`, etag: '"v2"' })
          .end(file.subarray(from));
      },
    ];
    await expect(download()).rejects.toThrow(/server answered ETag "v2" where it was "v1": starting over$/);
  });

  it("resumes a body that ended short without an error, as a break", async () => {
    asked = [];
    answers = [
      (_request, response) =>
        response.writeHead(200, { "last-modified": "Wed, 21 Oct 2015 07:28:00 GMT" }).end(file.subarray(0, 1000)),
      (_request, response) =>
        response
          .writeHead(206, { "content-range": `bytes 1000-${file.length - 1}/${file.length}` })
          .end(file.subarray(1000)),
    ];
    expect((await download()).equals(file)).toBe(true);
    expect(asked[1]).toEqual({ range: "bytes=1000-", ifRange: "Wed, 21 Oct 2015 07:28:00 GMT" });
  });
});
