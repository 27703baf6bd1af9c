import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBtf, loadElfBtf } from "../../../archive/btf/load.ts";
import { FormatError } from "../../../archive/errors.ts";
import { makeVmlinux } from "../../fixtures/vmlinux.ts";
import { btfBytes, info } from "../../helpers/btf-bytes.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-btf-load-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function formatError(promise: Promise<unknown>): Promise<FormatError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(FormatError);
  return error as FormatError;
}

describe("loading BTF from files", () => {
  it("loads a raw .btf and the .BTF section of an ELF made from the same DWARF to the same types", async () => {
    const vmlinux = await makeVmlinux(join(dir, "vmlinux"), { withBtf: true });
    await execa("pahole", [`--btf_encode_detached=${vmlinux}.btf`, vmlinux]);
    expect((await loadBtf(`${vmlinux}.btf`)).types).toEqual((await loadElfBtf(vmlinux)).types);
  });

  it("names the file when a raw .btf is malformed, keeping the parser's error as cause", async () => {
    const path = join(dir, "bad.btf");
    await writeFile(path, btfBytes({ strings: "\0", types: [0, info(20), 0] }));
    const error = await formatError(loadBtf(path));
    expect(error.message).toBe(`${path}: type [1] at offset 24 has unknown kind 20 (info 0x14000000)`);
    expect(error.cause).toBeInstanceOf(FormatError);
  });

  it("says the ELF has no .BTF section rather than returning nothing", async () => {
    const vmlinux = await makeVmlinux(join(dir, "vmlinux-plain"));
    expect((await formatError(loadElfBtf(vmlinux))).message).toBe(`${vmlinux}: ELF has no .BTF section`);
  });
});
