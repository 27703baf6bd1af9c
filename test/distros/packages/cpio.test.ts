// The cpio newc reader: on archives rpm2cpio takes out of rpmbuild's packages, and on archives
// written here byte by byte for the shapes rpmbuild does not make (`..` names, hard links,
// devices, truncation).
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractCpioMember } from "../../../distros/packages/cpio.ts";
import { FormatError } from "../../../archive/errors.ts";
import { buildRpm } from "../../fixtures/rpm-repo.ts";

interface Entry {
  name: string;
  mode?: number;
  nlink?: number;
  data?: Buffer;
}

// "070701", 13 hex fields, the NUL-terminated name padded to 4, the data padded to 4.
function newc(entries: Entry[], magic = "070701"): Buffer {
  const parts: Buffer[] = [];
  const pad = (length: number) => Buffer.alloc((4 - (length % 4)) % 4);
  for (const [index, entry] of [...entries, { name: "TRAILER!!!", mode: 0 }].entries()) {
    const data = entry.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${entry.name}\0`);
    const fields = [
      index + 1,
      entry.mode ?? 0o100644,
      0,
      0,
      entry.nlink ?? 1,
      0,
      data.length,
      0,
      0,
      0,
      0,
      name.length,
      0,
    ];
    const header = Buffer.from(magic + fields.map((field) => field.toString(16).padStart(8, "0")).join(""), "latin1");
    parts.push(header, name, pad(header.length + name.length), data, pad(data.length));
  }
  return Buffer.concat(parts);
}

async function* chunks(data: Buffer, size = 7): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

let work: string;
let counter = 0;
const output = () => join(work, `out-${counter++}`);
const request = (path: string) => ({ path, output: output(), package: "test.rpm", maxBytes: 1024 * 1024 * 1024 });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-cpio-"));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("extractCpioMember", () => {
  it("writes the wanted member of an rpm's real payload and stops at its end", async () => {
    const rpm = await buildRpm(work, {
      name: "demo",
      version: "1.0",
      release: "1",
      arch: "x86_64",
      payload: "gzip",
      files: [
        { path: "usr/lib/debug/a", contents: "first" },
        { path: "usr/lib/debug/lib/modules/1.0/vmlinux", contents: "the vmlinux bytes" },
        { path: "usr/share/z", contents: "after" },
      ],
    });
    const cpio = (await execa("sh", ["-c", 'rpm2cpio "$1"', "sh", rpm], { encoding: "buffer" })).stdout;
    const wanted = request("/usr/lib/debug/lib/modules/1.0/vmlinux");
    let consumed = 0;
    async function* counted() {
      for await (const chunk of chunks(Buffer.from(cpio), 64)) {
        consumed += chunk.length;
        yield chunk;
      }
    }
    expect(await extractCpioMember(counted(), wanted)).toBe(17);
    expect(await readFile(wanted.output, "utf8")).toBe("the vmlinux bytes");
    expect(consumed).toBeLessThan(cpio.length);
  });

  it("reads the 070702 (crc) variant and data that needs padding", async () => {
    const out = request("./boot/vmlinux");
    const archive = newc(
      [
        { name: "./boot/x", data: Buffer.from("abc") },
        { name: "./boot/vmlinux", data: Buffer.from("12345") },
      ],
      "070702",
    );
    expect(await extractCpioMember(chunks(archive), out)).toBe(5);
    expect(await readFile(out.output, "utf8")).toBe("12345");
  });

  it("answers undefined when the archive ends without the member", async () => {
    expect(
      await extractCpioMember(chunks(newc([{ name: "./a", data: Buffer.from("x") }])), request("boot/vmlinux")),
    ).toBeUndefined();
  });

  it("never takes a name with `..` for the wanted path", async () => {
    const archive = newc([{ name: "./boot/../boot/vmlinux", data: Buffer.from("evil") }]);
    const out = request("boot/../boot/vmlinux");
    expect(await extractCpioMember(chunks(archive), out)).toBeUndefined();
    await expect(stat(out.output)).rejects.toThrow(/ENOENT/);
  });

  it.each([
    [0o120777, "a symbolic link"],
    [0o040755, "a directory"],
    [0o020644, "a character device"],
  ])("refuses a member of mode %o as %s", async (mode, what) => {
    const archive = newc([{ name: "boot/vmlinux", mode, data: Buffer.from("target") }]);
    await expect(extractCpioMember(chunks(archive), request("boot/vmlinux"))).rejects.toThrow(
      `boot/vmlinux in the rpm payload is ${what}, not a regular file`,
    );
  });

  it("refuses a hard link whose data lies with another name", async () => {
    const archive = newc([
      { name: "boot/vmlinux", nlink: 2 },
      { name: "boot/other", nlink: 2, data: Buffer.from("data") },
    ]);
    await expect(extractCpioMember(chunks(archive), request("boot/vmlinux"))).rejects.toThrow(
      /hard link whose data lies with another name/,
    );
  });

  it("refuses a member larger than the limit before writing it", async () => {
    const out = { ...request("boot/vmlinux"), maxBytes: 4 };
    await expect(
      extractCpioMember(chunks(newc([{ name: "boot/vmlinux", data: Buffer.from("12345") }])), out),
    ).rejects.toThrow(/claims 5 bytes, over the limit of 4/);
    await expect(stat(out.output)).rejects.toThrow(/ENOENT/);
  });

  it("removes a member cut short and says how far it got", async () => {
    const archive = newc([{ name: "boot/vmlinux", data: Buffer.alloc(1000, 1) }]);
    const out = request("boot/vmlinux");
    const error = await extractCpioMember(chunks(archive.subarray(0, 500)), out).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(/^boot\/vmlinux in the rpm payload ends after \d+ of its 1000 bytes$/);
    await expect(stat(out.output)).rejects.toThrow(/ENOENT/);
  });

  it("reports an archive that ends before its trailer", async () => {
    const archive = newc([{ name: "a", data: Buffer.from("x") }]);
    await expect(extractCpioMember(chunks(archive.subarray(0, 113)), request("b"))).rejects.toThrow(
      /the cpio payload ends at byte \d+, inside an entry, before TRAILER!!!/,
    );
    await expect(extractCpioMember(chunks(archive.subarray(0, 50)), request("b"))).rejects.toThrow(
      /ends at byte 50 inside an entry header/,
    );
  });

  it("reports bytes that are not newc, and rpm's stripped format, as FormatErrors", async () => {
    await expect(extractCpioMember(chunks(Buffer.alloc(200, 0x41)), request("b"))).rejects.toThrow(
      /not a cpio newc entry at byte 0: it starts with "AAAAAA"/,
    );
    await expect(extractCpioMember(chunks(newc([{ name: "a" }], "07070X")), request("b"))).rejects.toThrow(
      /stripped cpio/,
    );
    const badField = Buffer.from(newc([{ name: "a" }]));
    badField.write("zz", 20, "latin1");
    await expect(extractCpioMember(chunks(badField), request("b"))).rejects.toThrow(
      /field 1 "000081zz" is not 8 hex digits/,
    );
  });
});
