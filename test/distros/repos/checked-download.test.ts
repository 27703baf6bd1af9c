// A repository index parsed as it downloads, from a server on 127.0.0.1, is used only when the
// whole file matches the size and digest its signed index lists; a reader's failure on damaged
// bytes is reported as the damage, and a broken connection as itself.
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { FetchError, FormatError, IntegrityError } from "../../../archive/errors.ts";
import { openUrl } from "../../../distros/net/http.ts";
import { CheckedDownload } from "../../../distros/repos/checked-download.ts";
import { parseDeb822 } from "../../../distros/repos/deb822.ts";
import { rejection } from "../../helpers/rejection.ts";
import { startFaultyServer, type FaultyServer } from "../../helpers/faulty-server.ts";

const packages = Buffer.from(
  Array.from({ length: 2000 }, (_, i) => `Package: linux-image-6.1.0-${i}-cloud-amd64-dbg\nVersion: 6.1.${i}-1\n`).join(
    "\n",
  ),
);
const sha256 = (data: Buffer) => ({ algorithm: "sha256", value: createHash("sha256").update(data).digest("hex") });
const http = { retry: { attempts: 1 } };

// The reader a Packages index gets: its stanzas' package names.
const packageNames = async (chunks: AsyncIterable<Buffer>) => {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return parseDeb822(Buffer.concat(parts).toString("utf8"), "Packages").map((stanza) => stanza.get("package"));
};

let server: FaultyServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function download(served: Buffer, listed: { data: Buffer; size: number | undefined }, faults = [{}]) {
  server = await startFaultyServer(served, faults);
  const { body } = await openUrl(server.url, { http });
  return new CheckedDownload(body, server.url, sha256(listed.data), listed.size, "Release");
}

describe("CheckedDownload", () => {
  it("gives the reader's result when the file is exactly what the signed index lists", async () => {
    const checked = await download(packages, { data: packages, size: packages.length });
    const names = await checked.read(packageNames);
    expect(names).toHaveLength(2000);
    expect(names[0]).toBe("linux-image-6.1.0-0-cloud-amd64-dbg");
    expect(checked.bytes).toBe(packages.length);
  });

  it("hashes the rest of the file after a reader that stopped early, and accepts it when it matches", async () => {
    const checked = await download(packages, { data: packages, size: packages.length });
    const first = await checked.read(async (chunks) => {
      for await (const chunk of chunks) return chunk.subarray(0, 8).toString();
      return "";
    });
    expect(first).toBe("Package:");
    expect(checked.bytes).toBe(packages.length);
  });

  it("passes on a streaming reader's FormatError thrown midway through listed bytes, the rest still hashed", async () => {
    const checked = await download(packages, { data: packages, size: packages.length });
    const error = await rejection(
      checked.read(async (chunks) => {
        for await (const chunk of chunks) throw new FormatError(`stanza of ${chunk.length} bytes is too long`);
      }),
    );
    expect(error).toBeInstanceOf(FormatError);
    expect(error).not.toBeInstanceOf(IntegrityError);
    expect(checked.bytes).toBe(packages.length);
  });

  it("refuses a file whose digest differs from the listed one, naming both", async () => {
    const other = Buffer.from(packages);
    other[10] = 0x41;
    const checked = await download(other, { data: packages, size: packages.length });
    const error = await rejection(checked.read(packageNames));
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toBe(
      `${server!.url} has sha256 ${sha256(other).value}, the signed Release says ${sha256(packages).value}`,
    );
    expect((error as IntegrityError).hint).toMatch(/mid-sync or corrupt/);
  });

  it("reports a reader's FormatError on damaged bytes as the damage (IntegrityError), the parse error as its cause", async () => {
    const damaged = Buffer.from(packages);
    damaged.write("\n orphan continuation", 500);
    const checked = await download(damaged, { data: packages, size: packages.length });
    const error = await rejection(checked.read(packageNames));
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.cause).toBeInstanceOf(FormatError);
  });

  it("passes on a reader's FormatError when the bytes are the listed ones: the file itself is bad", async () => {
    const bad = Buffer.from("Package: a\n orphan\n<html>\n");
    const checked = await download(bad, { data: bad, size: bad.length });
    const error = await rejection(checked.read(packageNames));
    expect(error).toBeInstanceOf(FormatError);
    expect(error).not.toBeInstanceOf(IntegrityError);
  });

  it("stops a body longer than listed as soon as it passes the listed size", async () => {
    const checked = await download(packages, { data: packages, size: 1000 });
    const error = await rejection(checked.read(packageNames));
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toBe(`${server!.url} runs longer than the 1000 bytes the signed Release says`);
    expect(checked.bytes).toBeLessThan(packages.length);
  });

  it("refuses a body shorter than listed, saying both sizes", async () => {
    const checked = await download(packages, { data: packages, size: packages.length + 5 });
    const error = await rejection(checked.read(packageNames));
    expect(error.message).toBe(
      `${server!.url} is ${packages.length} bytes, the signed Release says ${packages.length + 5}`,
    );
  });

  it("reports a connection broken midway as a FetchError saying how far it got, over whatever the reader made of it", async () => {
    const checked = await download(packages, { data: packages, size: packages.length }, [{ resetAfter: 20_000 }]);
    const error = await rejection(checked.read(packageNames));
    expect(error).toBeInstanceOf(FetchError);
    expect(error.message).toMatch(new RegExp(`^reading ${server!.url} failed after \\d+ bytes: `));
    expect(checked.bytes).toBeLessThan(packages.length);
  });
});
