import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { writeBtfTarball, xzBlockSize } from "../../archive/btf-tarball.ts";

describe("reproducible .btf.tar.xz", () => {
  it("holds one member owned by 0, mode a=r, mtime 0, and the same input gives the same bytes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-tarball-"));
    const btf = join(dir, "input.btf");
    await writeFile(btf, Buffer.from("BTF bytes ".repeat(1000)));
    const first = join(dir, "a.btf.tar.xz");
    const second = join(dir, "b.btf.tar.xz");
    await writeBtfTarball(btf, "6.1.0-1-amd64.btf", first);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await writeBtfTarball(btf, "6.1.0-1-amd64.btf", second);
    expect(Buffer.compare(await readFile(first), await readFile(second))).toBe(0);

    const { stdout } = await execa("tar", ["--numeric-owner", "-tvJf", first]);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    expect(stdout).toMatch(/^-r--r--r-- 0\/0 +10000 1970-01-01 00:00 6\.1\.0-1-amd64\.btf$/);
    const out = join(dir, "x");
    await execa("mkdir", [out]);
    await execa("tar", ["-xJf", first, "-C", out]);
    expect(await readFile(join(out, "6.1.0-1-amd64.btf"))).toEqual(await readFile(btf));
    expect((await stat(first)).size).toBeLessThan(1000);
  });

  it("cuts a BTF over the block size into xz blocks whose bytes do not depend on the thread count", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-tarball-"));
    const btf = join(dir, "input.btf");
    // 7 MB that compresses like BTF does (names and small integers), not like a repeated string.
    const lines = Array.from({ length: 500_000 }, (_, i) => `type_${(i * 7919) % 100_003} ${i % 977}\n`);
    await writeFile(btf, lines.join("").slice(0, 7_000_000));
    const stored = join(dir, "a.btf.tar.xz");
    await writeBtfTarball(btf, "6.12.0-1-amd64.btf", stored);
    const { stdout: listing } = await execa("xz", ["--robot", "--list", stored]);
    expect(listing).toMatch(/^totals\t1\t3\t/m);
    for (const threads of ["+1", "4"]) {
      const { stdout: again } = await execa("bash", [
        "-c",
        `xz -dc "$1" | xz -6 --threads=${threads} --block-size=${xzBlockSize} --check=crc64 -c | sha256sum`,
        "bash",
        stored,
      ]);
      const { stdout: ours } = await execa("sha256sum", [stored]);
      expect(again.split(" ")[0], `xz --threads=${threads}`).toBe(ours.split(" ")[0]);
    }
  });
});
