// Reading a chunk stream by byte counts: records that straddle chunks come out whole, chunks
// handed on whole are not copied, and the source is never closed, so its owner reads on.
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ByteReader } from "../../../distros/packages/byte-reader.ts";
import { patterned } from "../../fixtures/patterned-bytes.ts";

let work: string;
let file: string;
const data = patterned(100_000, 7);

// The file as a read stream hands it over: chunks of `size` bytes.
const chunksOf = (size: number) => createReadStream(file, { highWaterMark: size }) as AsyncIterable<Buffer>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-byte-reader-"));
  file = join(work, "data");
  await writeFile(file, data);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("ByteReader", () => {
  it("reads fixed-size records across chunk boundaries, the last one short at the end", async () => {
    const reader = new ByteReader(chunksOf(1000));
    const records: Buffer[] = [];
    for (let record = await reader.readExactly(2999); record.length > 0; record = await reader.readExactly(2999))
      records.push(record);
    expect(records.slice(0, -1).every((record) => record.length === 2999)).toBe(true);
    expect(records.at(-1)!.length).toBe(100_000 % 2999);
    expect(Buffer.concat(records).equals(data)).toBe(true);
    expect(reader.position).toBe(100_000);
  });

  it("hands on a chunk that fits whole, without copying it", async () => {
    const chunks = [Buffer.from("abcdef"), Buffer.from("ghij")];
    const reader = new ByteReader(
      (async function* () {
        yield* chunks;
      })(),
    );
    const first = await reader.readUpTo(100);
    expect(first).toBe(chunks[0]);
    expect((await reader.readUpTo(3)).toString()).toBe("ghi");
    expect((await reader.readUpTo(3)).toString()).toBe("j");
    expect((await reader.readUpTo(3)).length).toBe(0);
  });

  it("passes empty chunks over rather than taking them for the end", async () => {
    const reader = new ByteReader(
      (async function* () {
        yield Buffer.alloc(0);
        yield Buffer.from("x");
        yield Buffer.alloc(0);
        yield Buffer.from("yz");
      })(),
    );
    expect((await reader.readExactly(3)).toString()).toBe("xyz");
  });

  it("skips what nobody wants, saying how many bytes it skipped, fewer at the end", async () => {
    const reader = new ByteReader(chunksOf(4096));
    expect(await reader.skip(50_000)).toBe(50_000);
    expect((await reader.readExactly(10)).equals(data.subarray(50_000, 50_010))).toBe(true);
    expect(await reader.skip(1_000_000)).toBe(100_000 - 50_010);
    expect(reader.position).toBe(100_000);
  });

  it("streams the rest in chunks of at most the size asked", async () => {
    const reader = new ByteReader(chunksOf(10_000));
    await reader.readExactly(123);
    const rest: Buffer[] = [];
    for await (const chunk of reader.rest(4096)) rest.push(chunk);
    expect(Math.max(...rest.map((chunk) => chunk.length))).toBeLessThanOrEqual(4096);
    expect(Buffer.concat(rest).equals(data.subarray(123))).toBe(true);
  });

  it("leaves the source open when its reader stops early, so the owner reads the rest (to hash it)", async () => {
    const source = createReadStream(file, { highWaterMark: 1000 });
    const reader = new ByteReader(source);
    for await (const chunk of reader.rest(500)) {
      expect(chunk.length).toBe(500);
      break;
    }
    expect(source.destroyed).toBe(false);
    const rest = await reader.readExactly(500);
    expect(rest.equals(data.subarray(500, 1000))).toBe(true);
    const remaining: Buffer[] = [];
    for await (const chunk of source) remaining.push(chunk as Buffer);
    expect(Buffer.concat(remaining).equals(data.subarray(1000))).toBe(true);
  });
});
