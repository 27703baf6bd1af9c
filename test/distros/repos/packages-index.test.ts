import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parsePackagesIndex, pickPackagesIndex, readPackagesIndex } from "../../../distros/repos/packages-index.ts";
import type { PackagesIndexChoice } from "../../../distros/repos/packages-index.ts";
import type { AptRelease, ReleaseFileEntry } from "../../../distros/repos/release.ts";
import { FormatError, IntegrityError } from "../../../archive/errors.ts";

// Two stanzas as bookworm's main index spells them (descriptions trimmed), plus a meta package.
const packagesText = `Package: linux-image-6.1.0-47-cloud-amd64-dbg
Source: linux
Version: 6.1.170-3
Installed-Size: 1743122
Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>
Architecture: amd64
Description: Debug symbols for linux-image-6.1.0-47-cloud-amd64
Section: debug
Priority: optional
Filename: pool/main/l/linux/linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb
Size: 281462948
MD5sum: b48f2d65907155cd040c48f529f8755e
SHA256: 7AD48C59DE359B78CEEC77AB8330FBFA982360C674444A1DF7BE8EAF11D3863B

Package: linux-image-cloud-amd64-dbg
Source: linux-signed-amd64 (6.1.176+1)
Version: 6.1.176-1
Architecture: amd64
Description: Debugging symbols for Linux cloud-amd64 configuration (meta-package)
 This package depends on the detached debugging symbols for the latest
 .
 Linux kernel cloud-amd64 configuration.
Filename: pool/main/l/linux-signed-amd64/linux-image-cloud-amd64-dbg_6.1.176-1_amd64.deb
Size: 1324
SHA256: c31eb34c8dd60d2c2bfc3316f993d2cd70b512ef4ffe1182ca4647ebcfc7a9c7

Package: hello
Version: 2.10-3
Architecture: amd64
Filename: pool/main/h/hello/hello_2.10-3_amd64.deb
Size: 53044
SHA256: 5ec9c1bae2e5d9ce2e3e7a0c67e3d0b3b0ed8e2f3b4c2a1b0d9e8f7a6b5c4d3e
`;

const kernelRecord = {
  package: "linux-image-6.1.0-47-cloud-amd64-dbg",
  version: "6.1.170-3",
  architecture: "amd64",
  filename: "pool/main/l/linux/linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb",
  size: 281462948,
  sha256: "7ad48c59de359b78ceec77ab8330fbfa982360c674444a1df7be8eaf11d3863b",
  source: "linux",
};

function entry(path: string, data: Buffer): ReleaseFileEntry {
  return { path, size: data.length, sha256: createHash("sha256").update(data).digest("hex") };
}

function releaseListing(...entries: ReleaseFileEntry[]): AptRelease {
  return {
    fields: new Map(),
    suite: "bookworm",
    codename: "bookworm",
    date: undefined,
    validUntil: undefined,
    architectures: ["amd64"],
    components: ["main"],
    files: new Map(entries.map((item) => [item.path, item])),
  };
}

async function xz(data: Buffer): Promise<Buffer> {
  const { stdout } = await execa("xz", ["-c"], { input: data, encoding: "buffer", stripFinalNewline: false });
  return Buffer.from(stdout);
}

describe("parsePackagesIndex", () => {
  it("reads the fields a source needs, lowercases SHA256 and drops the version from Source", () => {
    const records = parsePackagesIndex(packagesText, "Packages");
    expect(records[0]).toEqual(kernelRecord);
    expect(records[1]?.source).toBe("linux-signed-amd64");
    expect(records[2]?.source).toBe("hello");
  });

  it("parses only the stanzas whose package name `accept` takes", () => {
    const records = parsePackagesIndex(packagesText, "Packages", (name) => name.startsWith("linux-image-6"));
    expect(records).toEqual([kernelRecord]);
  });

  it("rejects a stanza without SHA256, with a bad Size, or with a Filename leaving the mirror", () => {
    const withoutSha = packagesText.replace(/^SHA256: 7AD.*\n/m, "");
    expect(() => parsePackagesIndex(withoutSha, "Packages")).toThrow(
      /linux-image-6.1.0-47-cloud-amd64-dbg has no sha256 field/,
    );
    expect(() => parsePackagesIndex(packagesText.replace("Size: 1324", "Size: lots"), "Packages")).toThrow(FormatError);
    const climbing = packagesText.replace("Filename: pool/main/h/hello", "Filename: pool/../../etc/hello");
    expect(() => parsePackagesIndex(climbing, "Packages")).toThrow(/outside the mirror/);
  });
});

describe("pickPackagesIndex", () => {
  const xzEntry = { path: "main/binary-amd64/Packages.xz", size: 10, sha256: "a".repeat(64) };
  const gzEntry = { path: "main/binary-amd64/Packages.gz", size: 20, sha256: "b".repeat(64) };
  const plainEntry = { path: "main/binary-amd64/Packages", size: 30, sha256: "c".repeat(64) };

  it("prefers .gz (decoded in process), then .xz, then the plain file, as the Release lists them", () => {
    expect(pickPackagesIndex(releaseListing(plainEntry, gzEntry, xzEntry), "main", "amd64", "Release")).toEqual({
      path: "main/binary-amd64/Packages.gz",
      compression: "gz",
      entry: gzEntry,
      plain: plainEntry,
    });
    expect(pickPackagesIndex(releaseListing(plainEntry, xzEntry), "main", "amd64", "Release").compression).toBe("xz");
    expect(pickPackagesIndex(releaseListing(plainEntry), "main", "amd64", "Release").compression).toBe("none");
  });

  it("names the missing index when the Release lists none for the arch", () => {
    expect(() => pickPackagesIndex(releaseListing(xzEntry), "main", "arm64", "Release of bookworm")).toThrow(
      /Release of bookworm lists no main\/binary-arm64\/Packages/,
    );
  });
});

// The body as a download hands it out, in pieces of `size` bytes.
async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

describe("readPackagesIndex", () => {
  const plain = Buffer.from(packagesText);

  it("verifies and decodes xz, gzip and plain indexes to the same records, however the body is cut", async () => {
    const expected = parsePackagesIndex(packagesText, "Packages");
    const compressed: [PackagesIndexChoice["compression"], string, Buffer][] = [
      ["xz", "Packages.xz", await xz(plain)],
      ["gz", "Packages.gz", gzipSync(plain)],
      ["none", "Packages", plain],
    ];
    for (const [compression, name, data] of compressed) {
      const choice: PackagesIndexChoice = {
        path: name,
        compression,
        entry: entry(name, data),
        plain: entry("Packages", plain),
      };
      for (const size of [1, 7, 100, data.length])
        expect(await readPackagesIndex(pieces(data, size), choice, name)).toEqual(expected);
    }
  });

  it("parses stanzas as the body arrives, and returns none of them when its SHA256 then differs from the Release", async () => {
    const index = Buffer.from(
      packagesText +
        Array.from(
          { length: 2000 },
          (_, n) =>
            `\nPackage: filler-${n}\nVersion: 1\nArchitecture: all\nFilename: pool/f/${n}.deb\nSize: 1\nSHA256: ${"0".repeat(64)}\n`,
        ).join(""),
    );
    const choice: PackagesIndexChoice = {
      path: "Packages",
      compression: "none",
      entry: entry("Packages", index),
      plain: undefined,
    };
    const seen: string[] = [];
    let seenBeforeTheEnd = 0;
    async function* tamperedTail(): AsyncGenerator<Buffer> {
      yield* pieces(index.subarray(0, index.length - 100), 4096);
      seenBeforeTheEnd = seen.length;
      yield Buffer.from(
        index
          .subarray(index.length - 100)
          .toString("latin1")
          .replace("0", "1"),
        "latin1",
      );
    }
    const accept = (name: string) => (seen.push(name), name.startsWith("linux-image-6"));
    const error = await readPackagesIndex(tamperedTail(), choice, "Packages", { accept }).catch(
      (caught: unknown) => caught,
    );
    expect(seenBeforeTheEnd).toBeGreaterThan(1000);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(
      /^Packages has sha256 [0-9a-f]{64}, the signed Release says [0-9a-f]{64}$/,
    );
    expect(await readPackagesIndex(pieces(index, 4096), choice, "Packages", { accept })).toEqual([kernelRecord]);
  });

  it("refuses a body shorter or longer than the Release lists, even when what arrived parses", async () => {
    const choice: PackagesIndexChoice = {
      path: "Packages",
      compression: "none",
      entry: entry("Packages", plain),
      plain: undefined,
    };
    await expect(readPackagesIndex(pieces(plain.subarray(0, -1), 100), choice, "u")).rejects.toThrow(
      /^u is \d+ bytes, the signed Release says \d+$/,
    );
    const longer = Buffer.concat([plain, Buffer.from("\n")]);
    await expect(readPackagesIndex(pieces(longer, 100), choice, "u")).rejects.toThrow(
      /^u runs longer than the \d+ bytes the signed Release says$/,
    );
  });

  it("reports an index the Release vouches for but that is malformed as a format error, whatever the compression", async () => {
    const malformed = Buffer.from(packagesText.replace(/^SHA256: 7AD.*\n/m, ""));
    for (const [compression, data] of [
      ["none", malformed],
      ["xz", await xz(malformed)],
    ] as const) {
      const choice: PackagesIndexChoice = {
        path: "Packages",
        compression,
        entry: entry("Packages", data),
        plain: undefined,
      };
      const error = await readPackagesIndex(pieces(data, 64), choice, "Packages").catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FormatError);
      expect((error as Error).message).toMatch(/linux-image-6.1.0-47-cloud-amd64-dbg has no sha256 field/);
    }
  });

  it("stops decompressing past the size the Release lists for the plain index", async () => {
    const data = await xz(plain);
    const choice: PackagesIndexChoice = {
      path: "Packages.xz",
      compression: "xz",
      entry: entry("Packages.xz", data),
      plain: { path: "Packages", size: 100, sha256: "0".repeat(64) },
    };
    await expect(readPackagesIndex(pieces(data, 64), choice, "Packages.xz")).rejects.toThrow(
      /decompresses to more than 100 bytes/,
    );
    const gz = gzipSync(plain);
    await expect(
      readPackagesIndex(
        pieces(gz, 64),
        { ...choice, compression: "gz", entry: entry("Packages.gz", gz) },
        "Packages.gz",
      ),
    ).rejects.toThrow(/decompresses to more than 100 bytes/);
  });

  it("reports an index that is not the compression it claims as a format error", async () => {
    const choice: PackagesIndexChoice = {
      path: "Packages.xz",
      compression: "xz",
      entry: entry("Packages.xz", plain),
      plain: undefined,
    };
    await expect(readPackagesIndex(pieces(plain, 64), choice, "Packages.xz")).rejects.toThrow(FormatError);
    await expect(readPackagesIndex(pieces(plain, 64), choice, "Packages.xz")).rejects.toThrow(
      /Packages.xz is not valid xz/,
    );
  });
});
