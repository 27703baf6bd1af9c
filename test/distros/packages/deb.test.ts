import { createReadStream } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractVmlinuxFromDeb } from "../../../distros/packages/deb.ts";
import type { VmlinuxRequest } from "../../../distros/packages/vmlinux-request.ts";
import { normalizeMemberPath } from "../../../distros/packages/tar-member.ts";
import { FormatError, VmlinuxNotFoundError } from "../../../archive/errors.ts";
import { buildKernelDeb, rewritePayload } from "../../fixtures/kernel-deb.ts";
import type { DebCompression, KernelDeb } from "../../fixtures/kernel-deb.ts";
import { childCommands } from "../../helpers/child-processes.ts";

let dir: string;
let outputs: string;
const debs = {} as Record<DebCompression, KernelDeb>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-deb-"));
  outputs = join(dir, "out");
  await execa("mkdir", [outputs]);
  for (const compression of ["xz", "gzip", "zstd", "none"] as const) {
    debs[compression] = await buildKernelDeb(dir, `kernel-${compression}`, { compression });
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
function request(deb: KernelDeb, extra: Partial<VmlinuxRequest> = {}): VmlinuxRequest {
  return {
    vmlinuxPath: deb.vmlinuxPath,
    output: join(outputs, `vmlinux-${counter++}`),
    package: deb.path,
    packageSize: deb.size,
    ...extra,
  };
}

describe("extractVmlinuxFromDeb", () => {
  it.each(["xz", "gzip", "zstd", "none"] as const)(
    "writes the vmlinux of a %s package and stops decoding at its end",
    async (compression) => {
      const deb = debs[compression];
      const wanted = request(deb);
      const result = await extractVmlinuxFromDeb(createReadStream(deb.path), wanted);
      expect((await readFile(wanted.output)).equals(deb.vmlinux)).toBe(true);
      expect(result.vmlinuxBytes).toBe(deb.vmlinux.length);
      // 1 MiB of build-id files and the vmlinux come first, 32 MiB of modules after: the decoder
      // produced the first part and a few buffers, not the rest.
      expect(deb.payloadBytes).toBeGreaterThan(33 * 1024 * 1024);
      expect(result.payloadBytes).toBeLessThan(2 * 1024 * 1024);
      expect(await childCommands()).not.toContain("xz");
    },
  );

  it("says which member is there instead when the vmlinux is a symbolic link", async () => {
    const linked = await buildKernelDeb(dir, "symlinked", { compression: "xz", vmlinux: "symlink", trailingBytes: 0 });
    const wanted = request(linked);
    await expect(extractVmlinuxFromDeb(createReadStream(linked.path), wanted)).rejects.toThrow(
      new FormatError(
        `${linked.vmlinuxPath} in data.tar.xz is a symbolic link to ../.build-id/5a/filler.debug, not a regular file`,
        {
          package: linked.path,
        },
      ),
    );
    expect(await readdir(outputs)).not.toContain(wanted.output.split("/").at(-1));
  });

  it("refuses a hard link where the vmlinux should be", async () => {
    const deb = await buildKernelDeb(dir, "hardlink", { compression: "gzip", vmlinux: "hardlink", trailingBytes: 0 });
    await expect(extractVmlinuxFromDeb(createReadStream(deb.path), request(deb))).rejects.toThrow(
      /vmlinux-6.1.0-99-cloud-amd64 in data.tar.gz is a hard link to .\/usr\/lib\/debug\/.build-id\/5a\/filler.debug, not a regular file/,
    );
  });

  it("throws VmlinuxNotFoundError for a package without the vmlinux, after reading the whole payload", async () => {
    const deb = await buildKernelDeb(dir, "absent", { compression: "xz", vmlinux: "absent", trailingBytes: 0 });
    const wanted = request(deb);
    const error = await extractVmlinuxFromDeb(createReadStream(deb.path), wanted).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VmlinuxNotFoundError);
    expect((error as Error).message).toBe(`${deb.vmlinuxPath} is not in data.tar.xz`);
    await expect(readFile(wanted.output)).rejects.toThrow(/ENOENT/);
  });

  it("never writes a member whose path climbs out with `..`", async () => {
    const deb = debs.none;
    const payload = await tarOf([
      { name: `../${deb.vmlinuxPath}`, data: "escaped" },
      { name: `./usr/lib/debug/../debug/boot/vmlinux-${deb.kernel}`, data: "dotted" },
    ]);
    const evil = await rewritePayload(deb, join(dir, "evil.deb"), () => payload);
    const wanted = request(evil);
    await expect(extractVmlinuxFromDeb(createReadStream(evil.path), wanted)).rejects.toThrow(VmlinuxNotFoundError);
    await expect(readFile(wanted.output)).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).not.toContain("usr");
  });

  it("reports corrupt xz data in the payload as a FormatError and leaves no partial vmlinux", async () => {
    const deb = debs.xz;
    // The first block's header fails its CRC32: xz refuses before it decodes a byte. (Corruption xz
    // only notices at a block's end can reach tar first: still a FormatError, in tar's words.)
    const broken = await rewritePayload(deb, join(dir, "corrupt-xz.deb"), (data) =>
      Buffer.from(data).fill(0x5a, 14, 18),
    );
    const wanted = request(broken);
    await expect(extractVmlinuxFromDeb(createReadStream(broken.path), wanted)).rejects.toThrow(
      /^data.tar.xz is not valid xz data: xz: \(stdin\): Compressed data is corrupt$/,
    );
    await expect(readFile(wanted.output)).rejects.toThrow(/ENOENT/);
    expect(await childCommands()).not.toContain("xz");
  });

  it("reports a package cut short as a truncated member", async () => {
    const deb = debs.none;
    const cut = join(dir, "cut.deb");
    await writeFile(cut, (await readFile(deb.path)).subarray(0, 200_000));
    await expect(
      extractVmlinuxFromDeb(createReadStream(cut), request(deb, { packageSize: undefined })),
    ).rejects.toThrow(/^ar member data.tar is truncated: the archive ends after \d+ of its \d+ bytes$/);
  });

  it("reports a payload that is not a tar", async () => {
    const broken = await rewritePayload(debs.none, join(dir, "not-tar.deb"), (data) => Buffer.alloc(data.length, 0x41));
    await expect(extractVmlinuxFromDeb(createReadStream(broken.path), request(broken))).rejects.toThrow(
      /^data.tar is not a readable tar: Invalid tar header/,
    );
  });

  it("leaves a file-system failure as it is: the host's trouble, not a malformed package", async () => {
    const deb = debs.gzip;
    const error = await extractVmlinuxFromDeb(
      createReadStream(deb.path),
      request(deb, { output: join(dir, "missing", "vmlinux") }),
    ).catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(FormatError);
    expect((error as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  it("refuses a package whose first member is not debian-binary", async () => {
    const scratch = await mkdtemp(join(dir, "rpm-like-"));
    await writeFile(join(scratch, "control.tar.xz"), "x");
    await execa("ar", ["rc", "odd.deb", "control.tar.xz"], { cwd: scratch });
    const deb = { ...debs.none, path: join(scratch, "odd.deb") };
    await expect(
      extractVmlinuxFromDeb(createReadStream(deb.path), request(deb, { packageSize: undefined })),
    ).rejects.toThrow("not a deb: the first member is control.tar.xz (1 bytes), not debian-binary");
  });

  it("stops and releases xz when aborted while decoding", async () => {
    const controller = new AbortController();
    const deb = debs.xz;
    const wanted = request(deb, { signal: controller.signal });
    const extraction = extractVmlinuxFromDeb(stallingAfter(await readFile(deb.path), 2048, controller.signal), wanted);
    while (!(await childCommands()).includes("xz")) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    const error = await extraction.catch((caught: unknown) => caught);
    expect((error as Error).name).toBe("AbortError");
    await expect(readFile(wanted.output)).rejects.toThrow(/ENOENT/);
    expect(await childCommands()).not.toContain("xz");
  });
});

describe("normalizeMemberPath", () => {
  it("strips leading ./ and / and a trailing /", () => {
    expect(normalizeMemberPath("./usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64")).toBe(
      "usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64",
    );
    expect(normalizeMemberPath("/usr/lib/")).toBe("usr/lib");
    expect(normalizeMemberPath(".//./usr")).toBe("usr");
  });
});

// A network that delivers the first `bytes` and then nothing until the download is aborted.
async function* stallingAfter(data: Buffer, bytes: number, signal: AbortSignal): AsyncGenerator<Buffer> {
  yield data.subarray(0, bytes);
  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  throw signal.reason;
}

// A tar no honest dpkg-deb would write, made with tar-stream's packer.
async function tarOf(entries: Array<{ name: string; data: string }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of entries) pack.entry({ name: entry.name }, entry.data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
