// The validate stage on real files: pahole's BTF of a gcc-built vmlinux stand-in, checked by our
// parser and bpftool, its kinds against the kernel's age, and its layouts against the vmlinux's own .BTF.
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readElfSection } from "../../../archive/elf.ts";
import { FormatError, ToolError } from "../../../archive/errors.ts";
import { validateBtf } from "../../../pipeline/stages/validate.ts";
import { makePaholeBtf } from "../../fixtures/all-kinds.ts";
import { makeVmlinux } from "../../fixtures/vmlinux.ts";

const kernel = "test/1/x86_64/6.1.0-1-amd64";
let work: string;

async function paholeBtf(vmlinux: string, out: string): Promise<string> {
  await execa("pahole", [`--btf_encode_detached=${out}`, vmlinux]);
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-validate-"));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("validateBtf", () => {
  it("accepts pahole's BTF of a kernel with its own .BTF when every layout matches, and records that section's digest", async () => {
    const vmlinux = await makeVmlinux(join(work, "with-btf"), { withBtf: true });
    const btf = await paholeBtf(vmlinux, join(work, "with-btf.btf"));
    const result = await validateBtf(btf, { kernel, kernelRelease: "6.1.0-1-amd64", vmlinux });
    const own = (await readElfSection(vmlinux, ".BTF"))!;
    expect(result.kernelHasBtf).toBe(true);
    expect(result.kinds).toContain("STRUCT");
    expect(result.kinds).toEqual([...result.kinds].sort());
    expect(result.kernelBtf).toMatchObject({
      sha256: createHash("sha256").update(own).digest("hex"),
      size: own.byteLength,
    });
    expect(result.kernelBtf!.layouts).toBeGreaterThan(0);
  });

  it("checks a kernel without its own .BTF by the parsers and kinds alone", async () => {
    const vmlinux = await makeVmlinux(join(work, "plain"));
    const btf = await paholeBtf(vmlinux, join(work, "plain.btf"));
    const result = await validateBtf(btf, { kernel, kernelRelease: "6.1.0-1-amd64", vmlinux });
    expect(result).toEqual({ kernelHasBtf: false, kinds: result.kinds });
    expect(result.kinds.length).toBeGreaterThan(0);
  });

  it("refuses BTF whose struct layouts differ from the kernel's own", async () => {
    const vmlinux = await makeVmlinux(join(work, "reference"), { withBtf: true });
    const moved = await paholeBtf(
      await makeVmlinux(join(work, "moved"), { variant: "moved" }),
      join(work, "moved.btf"),
    );
    const error = await validateBtf(moved, { kernel, kernelRelease: "6.1.0-1-amd64", vmlinux }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).message).toMatch(
      /^struct layouts differ from the kernel's own BTF in \d+ place\(s\): .*tcp_sock/,
    );
    expect((error as FormatError).kernel).toBe(kernel);
  });

  it("refuses kinds older libbpf does not know for an old kernel, and takes them for a new one", async () => {
    const vmlinux = await makeVmlinux(join(work, "for-kinds"));
    const btf = await makePaholeBtf(join(work, "all-kinds.btf"));
    await expect(validateBtf(btf, { kernel, kernelRelease: "4.14.0-1-amd64", vmlinux })).rejects.toThrow(
      /^the BTF holds kinds kernel 4\.14\.0-1-amd64 does not understand: /,
    );
    expect((await validateBtf(btf, { kernel, kernelRelease: "6.6.0-1-amd64", vmlinux })).kinds).toEqual(
      expect.arrayContaining(["FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64"]),
    );
  });

  it("refuses bytes that are not BTF, with our parser's verdict first", async () => {
    const vmlinux = await makeVmlinux(join(work, "for-garbage"));
    const garbage = join(work, "garbage.btf");
    await writeFile(garbage, Buffer.alloc(4096, 0x5a));
    const error = await validateBtf(garbage, { kernel, kernelRelease: "6.1.0-1-amd64", vmlinux }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FormatError);
    expect(error).not.toBeInstanceOf(ToolError);
    expect((error as FormatError).message).toMatch(/^the BTF pahole wrote does not parse: /);
  });
});
