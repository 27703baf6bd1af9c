// The minify pass reads a stored kernel's full BTF back from its BTFHub-form tarball: the same
// bytes that were packed, and a clear error naming the kernel for a tarball that is damaged or
// holds another member.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBtfTarball } from "../../../archive/btf-tarball.ts";
import { FormatError, ToolError } from "../../../archive/errors.ts";
import { extractStoredBtf } from "../../../pipeline/stages/minify.ts";
import { stopSpawner } from "../../../pipeline/tools/spawner.ts";
import { hostHasKernelBtf, hostKernelBtf } from "../../helpers/host-kernel-btf.ts";

describe.skipIf(!hostHasKernelBtf)("reading a stored full BTF back", () => {
  let work: string;
  let tarball: string;
  const kernel = "debian/12/x86_64/6.1.0-1-amd64";

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-extract-"));
    tarball = join(work, "6.1.0-1-amd64.btf.tar.xz");
    await writeBtfTarball(hostKernelBtf, "6.1.0-1-amd64.btf", tarball);
  });
  afterAll(async () => {
    await stopSpawner();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("gives back, and writes where bpftool reads it, exactly the BTF that was packed", async () => {
    const scratch = join(work, "ok");
    await mkdir(scratch);
    const bytes = await extractStoredBtf(tarball, join(scratch, "6.1.0-1-amd64.btf"), { kernel });
    const original = await readFile(hostKernelBtf);
    expect(bytes.equals(original)).toBe(true);
    expect((await readFile(join(scratch, "6.1.0-1-amd64.btf"))).equals(original)).toBe(true);
  });

  it("names the missing member when the tarball holds another kernel's BTF", async () => {
    const scratch = join(work, "other");
    await mkdir(scratch);
    const error = await extractStoredBtf(tarball, join(scratch, "6.1.0-2-amd64.btf"), { kernel }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).message).toMatch(/holds no file 6\.1\.0-2-amd64\.btf/);
    expect((error as FormatError).kernel).toBe(kernel);
  });

  it("fails with xz's own words and what to do when the tarball is damaged", async () => {
    const scratch = join(work, "damaged");
    await mkdir(scratch);
    const damaged = join(work, "damaged.btf.tar.xz");
    const bytes = await readFile(tarball);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(damaged, bytes);
    const error = await extractStoredBtf(damaged, join(scratch, "6.1.0-1-amd64.btf"), { kernel }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ToolError);
    expect(String((error as ToolError).message)).toMatch(/xz/);
    expect((error as ToolError).hint).toMatch(/restore it from the published site/);
  });
});
