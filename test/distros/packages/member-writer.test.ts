// An archive member's bytes written to a new file: all of them, in order, batched into large
// writes; never over an existing file; removed again when the bytes stop coming.
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeMemberFile } from "../../../distros/packages/member-writer.ts";
import { patterned } from "../../fixtures/patterned-bytes.ts";
import { rejection } from "../../helpers/rejection.ts";

let work: string;
let source: string;
// Past the 1 MiB batch, and not a multiple of it or of the 8 KiB pieces xz writes.
const data = patterned(3 * 1024 * 1024 + 12_345, 3);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-member-writer-"));
  source = join(work, "source");
  await writeFile(source, data);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("writeMemberFile", () => {
  it("writes every byte in order from 8 KiB pieces and returns how many", async () => {
    const output = join(work, "vmlinux-1");
    const written = await writeMemberFile(createReadStream(source, { highWaterMark: 8192 }), output);
    expect(written).toBe(data.length);
    expect((await readFile(output)).equals(data)).toBe(true);
  });

  it("writes an empty member as an empty file", async () => {
    const output = join(work, "empty");
    expect(await writeMemberFile((async function* () {})(), output)).toBe(0);
    expect((await readFile(output)).length).toBe(0);
  });

  it("refuses to write over a file that exists, leaving it as it was", async () => {
    const output = join(work, "taken");
    await writeFile(output, "earlier");
    const error = await rejection(writeMemberFile(createReadStream(source), output));
    expect((error as NodeJS.ErrnoException).code).toBe("EEXIST");
    expect(await readFile(output, "utf8")).toBe("earlier");
  });

  it("removes the partial file when the bytes stop with an error past the first batch", async () => {
    const output = join(work, "broken");
    async function* breaking() {
      for (let offset = 0; offset < 2 * 1024 * 1024; offset += 8192) yield data.subarray(offset, offset + 8192);
      throw new Error("xz: Compressed data is corrupt");
    }
    const error = await rejection(writeMemberFile(breaking(), output));
    expect(error.message).toBe("xz: Compressed data is corrupt");
    expect(await readdir(work)).not.toContain("broken");
  });
});
