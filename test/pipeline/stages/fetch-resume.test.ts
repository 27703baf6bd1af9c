import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FetchError, IntegrityError } from "../../../archive/errors.ts";
import type { HttpOverrides } from "../../../distros/net/http-settings.ts";
import { fetchVmlinux } from "../../../pipeline/stages/fetch.ts";
import type { FetchProgress, FetchedVmlinux } from "../../../pipeline/stages/fetch.ts";
import { buildKernelDeb, kernelPackageFor } from "../../fixtures/kernel-deb.ts";
import type { KernelDeb } from "../../fixtures/kernel-deb.ts";
import { startFaultyServer } from "../../helpers/faulty-server.ts";
import type { Fault, FaultyServer, Validators } from "../../helpers/faulty-server.ts";

let dir: string;
let deb: KernelDeb;
let plain: KernelDeb;
let other: KernelDeb;
const bytes = {} as Record<"deb" | "plain" | "other", Buffer>;
// What a download without faults decodes. The count includes what sat in pipe buffers when
// decoding stopped, so it varies by some 10% from run to run; a second decode would double it.
let clean: FetchedVmlinux;
// Where the xz package breaks in these tests: inside data.tar.xz, while xz is decoding it.
const breakAt = 30_000;
// Short timeouts and backoff, so that a test with four attempts takes about a second.
const http: HttpOverrides = { headersTimeoutMs: 1000, idleTimeoutMs: 300, retry: { baseDelayMs: 10, maxDelayMs: 40 } };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-resume-"));
  deb = await buildKernelDeb(dir, "kernel-xz", { compression: "xz" });
  plain = await buildKernelDeb(dir, "kernel-none", { compression: "none" });
  other = await buildKernelDeb(dir, "kernel-other", { compression: "xz", trailingBytes: 1024 * 1024 });
  bytes.deb = await readFile(deb.path);
  bytes.plain = await readFile(plain.path);
  bytes.other = await readFile(other.path);
  const server = await startFaultyServer(bytes.deb);
  try {
    clean = await fetchVmlinux(kernelPackageFor(deb, server.url), join(await mkdtemp(join(dir, "clean-")), "vmlinux"), {
      http,
    });
  } finally {
    await server.close();
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  server: FaultyServer;
  destination: string;
  result: FetchedVmlinux | undefined;
  error: Error | undefined;
  progress: FetchProgress[];
  ms: number;
}

// Fetches `package` from a server scripted with `faults`, and keeps everything a test checks.
async function fetchThrough(
  faults: Fault[],
  options: { package?: KernelDeb; validators?: Validators; http?: HttpOverrides } = {},
): Promise<Outcome> {
  const pkg = options.package ?? deb;
  const server = await startFaultyServer(pkg === plain ? bytes.plain : bytes.deb, faults, options.validators);
  const destination = join(await mkdtemp(join(dir, "fetch-")), "vmlinux");
  const progress: FetchProgress[] = [];
  const started = performance.now();
  try {
    const result = await fetchVmlinux(kernelPackageFor(pkg, server.url), destination, {
      http: options.http ?? http,
      onProgress: (report) => progress.push(report),
    }).then(
      (value) => ({ value, error: undefined }),
      (error: unknown) => ({ value: undefined, error: error as Error }),
    );
    return {
      server,
      destination,
      result: result.value,
      error: result.error,
      progress,
      ms: performance.now() - started,
    };
  } finally {
    await server.close();
  }
}

async function expectVmlinux(outcome: Outcome, pkg: KernelDeb = deb): Promise<void> {
  expect(outcome.error).toBeUndefined();
  expect((await readFile(outcome.destination)).equals(pkg.vmlinux)).toBe(true);
  expect(outcome.result).toMatchObject({ sha256: pkg.sha256, downloadedBytes: pkg.size });
}

function expectOneDecode(outcome: Outcome): void {
  expect(outcome.result?.payloadBytes).toBeGreaterThan(clean.payloadBytes * 0.75);
  expect(outcome.result?.payloadBytes).toBeLessThan(clean.payloadBytes * 1.25);
  // One HashedDownload, hence one reader: its byte count never went back to zero.
  expect(neverWentBack(outcome.progress)).toBe(true);
}

// The progress of one pass that never went back: the same hash and reader from start to end.
function stagesOf(progress: FetchProgress[]): string[] {
  return progress.map((report) => report.stage).filter((stage, index, all) => stage !== all[index - 1]);
}

function neverWentBack(progress: FetchProgress[]): boolean {
  return progress.every(
    (report, index) => index === 0 || report.downloadedBytes >= (progress[index - 1]?.downloadedBytes ?? 0),
  );
}

describe("fetchVmlinux over a faulty mirror", () => {
  it("resumes a body reset mid-xz with one range request, feeding the same hash and the same xz", async () => {
    const outcome = await fetchThrough([{ resetAfter: breakAt }]);
    await expectVmlinux(outcome);
    expect(outcome.server.requests).toEqual([
      { range: undefined, ifRange: undefined, status: 200 },
      { range: `bytes=${breakAt}-`, ifRange: outcome.server.etag(), status: 206 },
    ]);
    expect(outcome.result?.requests).toBe(2);
    // Decoding went on where it was: no more payload decoded than without the break.
    expectOneDecode(outcome);
    expect(stagesOf(outcome.progress)).toEqual(["download", "extract", "hash"]);
  });

  it("resumes a body that stalls past the idle timeout", async () => {
    const outcome = await fetchThrough([{ stallAfter: breakAt }]);
    await expectVmlinux(outcome);
    expect(outcome.server.requests.map((request) => [request.range, request.status])).toEqual([
      [undefined, 200],
      [`bytes=${breakAt}-`, 206],
    ]);
    expectOneDecode(outcome);
    expect(outcome.ms).toBeGreaterThanOrEqual(290);
  });

  it("resumes a body that ends cleanly before its last byte", async () => {
    const outcome = await fetchThrough([{ endAfter: breakAt }]);
    await expectVmlinux(outcome);
    expect(outcome.server.requests.map((request) => request.range)).toEqual([undefined, `bytes=${breakAt}-`]);
    expectOneDecode(outcome);
  });

  it("resumes in the hash-only part after the vmlinux, where nothing decodes any more", async () => {
    const at = 10 * 1024 * 1024;
    const outcome = await fetchThrough([{ resetAfter: at }], { package: plain });
    await expectVmlinux(outcome, plain);
    expect(outcome.server.requests.map((request) => request.range)).toEqual([undefined, `bytes=${at}-`]);
    expect(stagesOf(outcome.progress)).toEqual(["download", "extract", "hash"]);
    expect(neverWentBack(outcome.progress)).toBe(true);
  });

  it("resumes each break where the last one left off, across three breaks", async () => {
    const outcome = await fetchThrough([{ resetAfter: 10_000 }, { resetAfter: 10_000 }, { stallAfter: 10_000 }]);
    await expectVmlinux(outcome);
    expect(outcome.server.requests.map((request) => request.range)).toEqual([
      undefined,
      "bytes=10000-",
      "bytes=20000-",
      "bytes=30000-",
    ]);
    expectOneDecode(outcome);
  });

  it("resumes with Last-Modified as If-Range when the server gives no ETag, and with a bare Range when it gives neither", async () => {
    const dated = await fetchThrough([{ resetAfter: breakAt }], { validators: "last-modified" });
    await expectVmlinux(dated);
    expect(dated.server.requests[1]?.ifRange).toMatch(/^Mon, 01 Jan 2024 00:00:01 GMT$/);
    const bare = await fetchThrough([{ resetAfter: breakAt }], { validators: "none" });
    await expectVmlinux(bare);
    expect(bare.server.requests[1]).toEqual({ range: `bytes=${breakAt}-`, ifRange: undefined, status: 206 });
  });

  it("starts over from the first byte when the server ignores Range", async () => {
    // Past the first chunk of the second pass, so that its progress visibly goes back.
    const late = 70_000;
    const outcome = await fetchThrough([{ resetAfter: late }, { ignoreRange: true }]);
    await expectVmlinux(outcome);
    expect(outcome.server.requests.map((request) => [request.range, request.status])).toEqual([
      [undefined, 200],
      [`bytes=${late}-`, 200],
      [undefined, 200],
    ]);
    expect(outcome.result?.requests).toBe(3);
    // The restart is visible: a second pass from zero, with its own hash and reader.
    expect(neverWentBack(outcome.progress)).toBe(false);
  });

  it("starts over when the file's ETag changed between the requests, and accepts the same bytes", async () => {
    const outcome = await fetchThrough([{ resetAfter: breakAt }, { replaceWith: Buffer.from(bytes.deb) }]);
    await expectVmlinux(outcome);
    const [first, second, third] = outcome.server.requests;
    expect(second).toMatchObject({ range: `bytes=${breakAt}-`, status: 200 });
    expect(second?.ifRange).not.toBe(outcome.server.etag());
    expect(third).toMatchObject({ range: undefined, status: 200 });
    expect(first?.status).toBe(200);
  });

  it("refuses a file that became another package mid-download, and leaves nothing behind", async () => {
    const outcome = await fetchThrough([{ resetAfter: breakAt }, { replaceWith: bytes.other }]);
    expect(outcome.error).toBeInstanceOf(IntegrityError);
    expect(outcome.error?.message).toBe(`the server announces ${other.size} bytes, the index says ${deb.size}`);
    expect(outcome.server.requests).toHaveLength(3);
    expect(await readdir(join(outcome.destination, ".."))).toEqual([]);
  });

  it("starts over when the range is answered 416", async () => {
    const outcome = await fetchThrough([{ resetAfter: breakAt }, { status: 416 }]);
    await expectVmlinux(outcome);
    expect(outcome.server.requests.map((request) => [request.range, request.status])).toEqual([
      [undefined, 200],
      [`bytes=${breakAt}-`, 416],
      [undefined, 200],
    ]);
  });

  it("goes through after a 503 and a 429 that asks for a second", async () => {
    const outcome = await fetchThrough([{ status: 503 }, { status: 429, retryAfter: "1" }]);
    await expectVmlinux(outcome);
    expect(outcome.server.requests.map((request) => request.status)).toEqual([503, 429, 200]);
    expect(outcome.ms).toBeGreaterThanOrEqual(990);
  });

  it("resumes after a 503 answered to the range request", async () => {
    const outcome = await fetchThrough([{ resetAfter: breakAt }, { status: 503 }]);
    await expectVmlinux(outcome);
    expect(outcome.server.requests.map((request) => [request.range, request.status])).toEqual([
      [undefined, 200],
      [`bytes=${breakAt}-`, 503],
      [`bytes=${breakAt}-`, 206],
    ]);
    expectOneDecode(outcome);
  });

  it("gives up after four attempts, saying how many and why, and leaves nothing behind", async () => {
    const outcome = await fetchThrough([
      { resetAfter: 10_000 },
      { resetAfter: 10_000 },
      { resetAfter: 10_000 },
      { resetAfter: 10_000 },
      {},
    ]);
    expect(outcome.error).toBeInstanceOf(FetchError);
    expect(outcome.error?.message).toBe(
      `the download broke after 40000 of ${deb.size} bytes: other side closed (gave up after 4 attempts)`,
    );
    expect(outcome.server.requests).toHaveLength(4);
    expect(await readdir(join(outcome.destination, ".."))).toEqual([]);
  });

  it("fails a body that keeps stalling within the idle timeout per attempt", async () => {
    const outcome = await fetchThrough([{ stallAfter: breakAt }, { stallAfter: 10_000 }], {
      http: { ...http, retry: { ...http.retry, attempts: 2 } },
    });
    expect(outcome.error).toBeInstanceOf(FetchError);
    expect(outcome.error?.message).toBe(
      `the download broke after ${breakAt + 10_000} of ${deb.size} bytes: no bytes for 300 ms (gave up after 2 attempts)`,
    );
    // undici checks its timers about twice a second, so each idle timeout fires up to ~1 s late.
    expect(outcome.ms).toBeLessThan(2 * (300 + 1000) + 500);
  });

  it("does not retry a 404", async () => {
    const outcome = await fetchThrough([{ status: 404 }]);
    expect(outcome.error).toBeInstanceOf(FetchError);
    expect(outcome.error?.message).toBe(`GET ${outcome.server.url} answered HTTP 404`);
    expect(outcome.server.requests).toHaveLength(1);
  });

  it("does not retry a Content-Length that is not the index's size", async () => {
    const outcome = await fetchThrough([{ contentLength: deb.size - 1000 }]);
    expect(outcome.error).toBeInstanceOf(IntegrityError);
    expect(outcome.error?.message).toBe(`the server announces ${deb.size - 1000} bytes, the index says ${deb.size}`);
    expect(outcome.server.requests).toHaveLength(1);
  });
});
