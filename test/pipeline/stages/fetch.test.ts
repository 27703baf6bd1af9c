import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FetchError, FormatError, IntegrityError, VmlinuxNotFoundError } from "../../../archive/errors.ts";
import { fetchVmlinux } from "../../../pipeline/stages/fetch.ts";
import type { FetchProgress } from "../../../pipeline/stages/fetch.ts";
import { buildKernelDeb, kernelPackageFor, rewritePayload } from "../../fixtures/kernel-deb.ts";
import type { DebCompression, KernelDeb } from "../../fixtures/kernel-deb.ts";
import { childCommands } from "../../helpers/child-processes.ts";
import { startStaticServer } from "../../helpers/static-server.ts";
import type { StaticServer } from "../../helpers/static-server.ts";

let dir: string;
let mirror: string;
let server: StaticServer;
const debs = {} as Record<DebCompression, KernelDeb>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-fetch-"));
  mirror = join(dir, "mirror");
  await mkdir(mirror);
  for (const compression of ["xz", "gzip", "zstd", "none"] as const) {
    debs[compression] = await buildKernelDeb(mirror, `kernel-${compression}`, { compression });
  }
  server = await startStaticServer(mirror);
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function urlOf(deb: KernelDeb): string {
  return `${server.url}/${deb.path.slice(mirror.length + 1)}`;
}

// Each test gets its own destination folder, so "nothing left behind" is a readdir away.
async function destinationFor(name: string): Promise<string> {
  const folder = await mkdtemp(join(dir, `${name}-`));
  return join(folder, "vmlinux");
}

async function leftovers(destination: string): Promise<string[]> {
  return readdir(join(destination, ".."));
}

// A one-off server whose every answer `respond` writes by hand, for the failures a file server cannot stage.
async function withServer(
  respond: (response: ServerResponse) => void,
  use: (url: string) => Promise<void>,
): Promise<void> {
  const custom = createServer((_request, response) => respond(response));
  await new Promise<void>((resolve) => custom.listen(0, "127.0.0.1", resolve));
  try {
    await use(`http://127.0.0.1:${(custom.address() as AddressInfo).port}/pool/linux.deb`);
  } finally {
    custom.closeAllConnections();
    await new Promise((resolve) => custom.close(resolve));
  }
}

describe("fetchVmlinux", () => {
  it.each(["xz", "gzip", "zstd", "none"] as const)(
    "streams a %s package into a verified vmlinux",
    async (compression) => {
      const deb = debs[compression];
      const destination = await destinationFor(compression);
      const progress: FetchProgress[] = [];
      const result = await fetchVmlinux(kernelPackageFor(deb, urlOf(deb)), destination, {
        onProgress: (p) => progress.push(p),
      });
      expect((await readFile(destination)).equals(deb.vmlinux)).toBe(true);
      expect(result).toMatchObject({ vmlinuxBytes: deb.vmlinux.length, downloadedBytes: deb.size, sha256: deb.sha256 });
      expect(await leftovers(destination)).toEqual(["vmlinux"]);
      // Stages only move forward, and the last report is the whole package, hashed.
      const stages = progress.map((p) => p.stage).filter((stage, index, all) => stage !== all[index - 1]);
      expect(stages).toEqual(["download", "extract", "hash"]);
      expect(progress.at(-1)).toEqual({ downloadedBytes: deb.size, totalBytes: deb.size, stage: "hash" });
    },
  );

  it("stops xz at the vmlinux's end: the 33 MiB of modules after it are never decoded", async () => {
    const deb = debs.xz;
    const result = await fetchVmlinux(kernelPackageFor(deb, urlOf(deb)), await destinationFor("early-xz"));
    expect(result.payloadBytes).toBeLessThan(deb.payloadBytes / 20);
    expect(await childCommands()).not.toContain("xz");
  });

  it("only hashes the part of the download that comes after the vmlinux", async () => {
    // Uncompressed, the package is 34 MiB and the vmlinux ends in its first 2 MiB.
    const deb = debs.none;
    let downloadedAtVmlinux = 0;
    let hashedBytes = 0;
    await fetchVmlinux(kernelPackageFor(deb, urlOf(deb)), await destinationFor("early-none"), {
      onProgress: (p) => {
        if (p.stage === "extract") downloadedAtVmlinux = p.downloadedBytes;
        if (p.stage === "hash") hashedBytes = p.downloadedBytes - downloadedAtVmlinux;
      },
    });
    expect(downloadedAtVmlinux).toBeLessThan(2 * 1024 * 1024);
    expect(hashedBytes).toBeGreaterThan(deb.size - 2 * 1024 * 1024);
  });

  it("refuses a package whose sha256 is not the index's, leaving no vmlinux", async () => {
    const deb = debs.xz;
    const destination = await destinationFor("sha");
    const pkg = { ...kernelPackageFor(deb, urlOf(deb)), sha256: "0".repeat(64) };
    const error = await fetchVmlinux(pkg, destination).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as IntegrityError).message).toBe(
      `sha256 of the package is ${deb.sha256}, the index says ${"0".repeat(64)}`,
    );
    expect(await leftovers(destination)).toEqual([]);
  });

  it("refuses a package altered after the vmlinux, although the vmlinux itself came out whole", async () => {
    const deb = debs.none;
    const tampered = join(mirror, "tampered.deb");
    const bytes = await readFile(deb.path);
    // A byte in the last module, far past the vmlinux: extraction succeeds, the hash does not.
    bytes[bytes.length - 5000] = (bytes[bytes.length - 5000] ?? 0) ^ 1;
    await writeFile(tampered, bytes);
    const destination = await destinationFor("tampered");
    const pkg = kernelPackageFor(deb, `${server.url}/tampered.deb`);
    await expect(fetchVmlinux(pkg, destination)).rejects.toThrow(IntegrityError);
    expect(await leftovers(destination)).toEqual([]);
  });

  it("runs the speculative work on the vmlinux before the rest is hashed, and returns its result once the package matched", async () => {
    // Uncompressed, the vmlinux ends in the first 2 MiB and 32 MiB of modules follow.
    const deb = debs.none;
    const destination = await destinationFor("speculative");
    let stage: string | undefined;
    let stageAtStart: string | undefined;
    const result = await fetchVmlinux(kernelPackageFor(deb, urlOf(deb)), destination, {
      onProgress: (p) => (stage = p.stage),
      speculative: async (vmlinux) => {
        stageAtStart = stage;
        return (await readFile(vmlinux)).equals(deb.vmlinux);
      },
    });
    expect(stageAtStart).toBe("hash");
    expect(result.speculative).toBe(true);
    expect(await leftovers(destination)).toEqual(["vmlinux"]);
  });

  it("aborts the speculative work on a package altered after the vmlinux, and throws the integrity error, not the work's", async () => {
    const deb = debs.none;
    const tampered = join(mirror, "tampered-speculative.deb");
    const bytes = await readFile(deb.path);
    bytes[bytes.length - 5000] = (bytes[bytes.length - 5000] ?? 0) ^ 1;
    await writeFile(tampered, bytes);
    const destination = await destinationFor("tampered-speculative");
    let aborted = false;
    const error = await fetchVmlinux(kernelPackageFor(deb, `${server.url}/tampered-speculative.deb`), destination, {
      speculative: (_vmlinux, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(new Error("the work saw its abort"));
          });
        }),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(aborted).toBe(true);
    expect(await leftovers(destination)).toEqual([]);
  });

  it("refuses a truncated package the server announces as such", async () => {
    const deb = debs.xz;
    await writeFile(join(mirror, "short.deb"), (await readFile(deb.path)).subarray(0, deb.size - 100));
    const destination = await destinationFor("short");
    await expect(fetchVmlinux(kernelPackageFor(deb, `${server.url}/short.deb`), destination)).rejects.toThrow(
      `the server announces ${deb.size - 100} bytes, the index says ${deb.size}`,
    );
    expect(await leftovers(destination)).toEqual([]);
  });

  it("reports a download cut off mid-body as a FetchError", async () => {
    const deb = debs.none;
    const bytes = await readFile(deb.path);
    await withServer(
      (response) => {
        response.writeHead(200, { "content-length": bytes.length });
        response.write(bytes.subarray(0, 3_000_000), () => response.destroy());
      },
      async (url) => {
        const destination = await destinationFor("cut");
        const error = await fetchVmlinux(kernelPackageFor(deb, url), destination).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(FetchError);
        expect((error as FetchError).message).toMatch(/^the download broke after \d+ of \d+ bytes: /);
        expect(await leftovers(destination)).toEqual([]);
      },
    );
  });

  it("reports a package without the vmlinux as VmlinuxNotFoundError once its hash checked out", async () => {
    const deb = await buildKernelDeb(mirror, "no-vmlinux", { compression: "xz", vmlinux: "absent", trailingBytes: 0 });
    const destination = await destinationFor("absent");
    const pkg = kernelPackageFor(deb, urlOf(deb));
    await expect(fetchVmlinux(pkg, destination)).rejects.toThrow(VmlinuxNotFoundError);
    // The same package with a hash that does not match: the integrity failure wins.
    await expect(fetchVmlinux({ ...pkg, sha256: "f".repeat(64) }, destination)).rejects.toThrow(IntegrityError);
    expect(await leftovers(destination)).toEqual([]);
  });

  it("refuses a symbolic link where the vmlinux should be", async () => {
    const deb = await buildKernelDeb(mirror, "symlink", { compression: "xz", vmlinux: "symlink", trailingBytes: 0 });
    const destination = await destinationFor("symlink");
    await expect(fetchVmlinux(kernelPackageFor(deb, urlOf(deb)), destination)).rejects.toThrow(
      /vmlinux-6.1.0-99-cloud-amd64 in data.tar.xz is a symbolic link to ..\/.build-id\/5a\/filler.debug, not a regular file/,
    );
    expect(await leftovers(destination)).toEqual([]);
  });

  it("reports a corrupt xz payload in a package the index vouches for as a FormatError", async () => {
    const corrupt = await rewritePayload(debs.xz, join(mirror, "corrupt.deb"), (data) =>
      Buffer.from(data).fill(0x5a, 14, 18),
    );
    const destination = await destinationFor("corrupt");
    const error = await fetchVmlinux(kernelPackageFor(corrupt, `${server.url}/corrupt.deb`), destination).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).message).toBe(
      "data.tar.xz is not valid xz data: xz: (stdin): Compressed data is corrupt",
    );
    expect(await leftovers(destination)).toEqual([]);
    expect(await childCommands()).not.toContain("xz");
  });

  it("stops the download and xz when aborted, leaving nothing behind", async () => {
    const deb = debs.xz;
    const bytes = await readFile(deb.path);
    // A mirror that sends the start of data.tar.xz and then stalls: xz is running when the abort comes.
    await withServer(
      (response) => {
        response.writeHead(200, { "content-length": bytes.length });
        response.write(bytes.subarray(0, 4096));
      },
      async (url) => {
        const controller = new AbortController();
        const destination = await destinationFor("abort");
        const fetching = fetchVmlinux(kernelPackageFor(deb, url), destination, { signal: controller.signal });
        while (!(await childCommands()).includes("xz")) await new Promise((resolve) => setTimeout(resolve, 10));
        controller.abort();
        const error = await fetching.catch((caught: unknown) => caught);
        expect((error as Error).name).toBe("AbortError");
        expect(await leftovers(destination)).toEqual([]);
        expect(await childCommands()).not.toContain("xz");
      },
    );
  });

  it("reads a package by the format the index gives: a .deb labelled rpm is refused as not an rpm", async () => {
    const deb = debs.xz;
    const pkg = { ...kernelPackageFor(deb, urlOf(deb)), format: "rpm" as const };
    const error = await fetchVmlinux(pkg, await destinationFor("rpm")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(/^not an rpm: it starts with 213c6172, not the lead magic edabeedb$/);
  });
});
