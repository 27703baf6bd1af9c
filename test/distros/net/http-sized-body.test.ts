// Index bodies (Packages, primary) of a size the signed index gives survive breaks the way
// packages do: a reset or a stall is resumed with a Range request the reader never sees, and a
// server that cannot resume makes the reader start over with a fresh body.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { readPackages } from "../../../distros/repos/apt.ts";
import { readPrimary } from "../../../distros/repos/yum.ts";
import { readSized } from "../../../distros/net/http.ts";
import { configureHttp } from "../../../distros/net/http-settings.ts";
import { startFaultyServer, type Fault, type FaultyServer } from "../../helpers/faulty-server.ts";

const content = Buffer.from(Array.from({ length: 20_000 }, (_, index) => `Package: filler-${index}\n`).join(""));

async function collect(server: FaultyServer, size: number): Promise<{ bytes: Buffer; passes: number }> {
  let passes = 0;
  const bytes = await readSized(server.url, size, {}, async ({ chunks }) => {
    passes += 1;
    const parts: Buffer[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    return Buffer.concat(parts);
  });
  return { bytes, passes };
}

async function serving(body: Buffer, faults: Fault[], use: (server: FaultyServer) => Promise<void>): Promise<void> {
  configureHttp({ headersTimeoutMs: 1000, idleTimeoutMs: 300, retry: { baseDelayMs: 10, maxDelayMs: 40 } });
  const server = await startFaultyServer(body, faults);
  try {
    await use(server);
  } finally {
    await server.close();
    configureHttp(undefined);
  }
}

describe("readSized", () => {
  it("resumes a body reset mid-way with one range request, in a single pass of the reader", async () => {
    await serving(content, [{ resetAfter: 100_000 }], async (server) => {
      const { bytes, passes } = await collect(server, content.length);
      expect(bytes.equals(content)).toBe(true);
      expect(passes).toBe(1);
      expect(server.requests.map((request) => request.range)).toEqual([undefined, "bytes=100000-"]);
    });
  });

  it("resumes a body that stalls past the idle timeout", async () => {
    await serving(content, [{ stallAfter: 50_000 }], async (server) => {
      const { bytes, passes } = await collect(server, content.length);
      expect(bytes.equals(content)).toBe(true);
      expect(passes).toBe(1);
      expect(server.requests[1]?.range).toBe("bytes=50000-");
    });
  });

  it("starts the reader over from the first byte when the server ignores Range", async () => {
    await serving(content, [{ resetAfter: 100_000 }, { ignoreRange: true }], async (server) => {
      const { bytes, passes } = await collect(server, content.length);
      expect(bytes.equals(content)).toBe(true);
      expect(passes).toBe(2);
      expect(server.requests.map((request) => request.range)).toEqual([undefined, "bytes=100000-", undefined]);
    });
  });

  it("answers undefined for a missing file when asked to, and throws otherwise", async () => {
    await serving(content, [{ status: 404 }, { status: 404 }], async (server) => {
      expect(await readSized(server.url, content.length, { allowMissing: true }, async () => "read")).toBeUndefined();
      await expect(readSized(server.url, content.length, {}, async () => "read")).rejects.toThrow(/HTTP 404/);
    });
  });
});

describe("readPrimary over a faulty mirror", () => {
  it("resumes primary.xml.gz reset mid-way and still checks it against repomd's sha256", async () => {
    const packages = Array.from(
      { length: 3000 },
      (_, index) =>
        `<package type="rpm"><name>${index % 1000 === 0 ? "kernel-debuginfo" : `filler-${index}`}</name><arch>x86_64</arch>` +
        `<version epoch="0" ver="5.${index}" rel="1.el9"/><checksum type="sha256" pkgid="YES">${"0".repeat(64)}</checksum>` +
        `<size package="${index + 1}"/><location href="Packages/k/p-${index}.rpm"/><description>${createHash("sha256").update(String(index)).digest("hex").repeat(4)}</description></package>\n`,
    );
    const gz = gzipSync(
      Buffer.from(`<metadata xmlns="http://linux.duke.edu/metadata/common">\n${packages.join("")}</metadata>\n`),
    );
    await serving(gz, [{ resetAfter: Math.floor(gz.length / 2) }], async (server) => {
      const base = server.url.slice(0, server.url.indexOf("/", "http://".length));
      const verified = {
        repository: { base, keyring: undefined },
        signed: false,
        records: new Map([
          [
            "primary",
            {
              type: "primary",
              href: `${base}/repodata/primary.xml.gz`,
              checksum: { algorithm: "sha256", value: createHash("sha256").update(gz).digest("hex") },
              size: gz.length,
              openChecksum: undefined,
              openSize: undefined,
            },
          ],
        ]),
      };
      const found = await readPrimary(verified, { accept: (name) => name === "kernel-debuginfo" });
      expect(found.map((pkg) => pkg.version)).toEqual(["5.0", "5.1000", "5.2000"]);
      expect(server.requests.map((request) => request.range)).toEqual([
        undefined,
        `bytes=${Math.floor(gz.length / 2)}-`,
      ]);
    });
  });
});

describe("readPackages over a faulty mirror", () => {
  const stanzas = Array.from({ length: 3000 }, (_, index) => {
    const name = index % 1000 === 0 ? `linux-image-6.1.0-${index}-cloud-amd64-dbg` : `filler-${index}`;
    const sha256 = createHash("sha256").update(String(index)).digest("hex");
    return `Package: ${name}\nVersion: ${index}\nArchitecture: amd64\nFilename: pool/main/${name}.deb\nSize: 1\nSHA256: ${sha256}\nDescription: ${sha256.repeat(4)}\n`;
  });
  const plain = Buffer.from(stanzas.join("\n"));
  const accept = (name: string) => name.startsWith("linux-image-");

  // A suite whose Release lists `xz` as main/binary-amd64/Packages.xz with `listed` as its SHA256.
  const suite = (server: FaultyServer, xz: Buffer, listed: string) => {
    const base = server.url.slice(0, server.url.indexOf("/", "http://".length));
    const entry = (path: string, size: number, sha256: string) => [path, { path, size, sha256 }] as const;
    return {
      repository: { base, keyring: undefined, checkValidUntil: false },
      suite: "bookworm",
      signedAs: "unsigned" as const,
      release: {
        fields: new Map<string, string>(),
        suite: "bookworm",
        codename: "bookworm",
        date: undefined,
        validUntil: undefined,
        architectures: ["amd64"],
        components: ["main"],
        files: new Map([
          entry("main/binary-amd64/Packages.xz", xz.length, listed),
          entry("main/binary-amd64/Packages", plain.length, createHash("sha256").update(plain).digest("hex")),
        ]),
      },
    };
  };

  it("resumes Packages.xz reset mid-way into the same decoder and still checks it against the Release's sha256", async () => {
    const xz = Buffer.from(
      (await execa("xz", ["-c"], { input: plain, encoding: "buffer", stripFinalNewline: false })).stdout,
    );
    const half = Math.floor(xz.length / 2);
    await serving(xz, [{ resetAfter: half }], async (server) => {
      const found = await readPackages(
        suite(server, xz, createHash("sha256").update(xz).digest("hex")),
        "main",
        "amd64",
        { accept },
      );
      expect(found.map((record) => record.version)).toEqual(["0", "1000", "2000"]);
      expect(server.requests.map((request) => request.range)).toEqual([undefined, `bytes=${half}-`]);
    });
    await serving(xz, [{ resetAfter: half }], async (server) => {
      const wrong = suite(server, xz, "0".repeat(64));
      await expect(readPackages(wrong, "main", "amd64", { accept })).rejects.toThrow(
        /Packages.xz has sha256 [0-9a-f]{64}, the signed Release says 0{64}$/,
      );
    });
  });
});
