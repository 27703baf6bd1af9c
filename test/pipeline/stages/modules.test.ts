// The modules stage on real objects (gcc -g of the fixture's module.c) against a kernel BTF pahole
// made: split BTF per module, checked against the module's own .BTF when it carries one; a module
// without DWARF is refused by name before pahole runs.
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinSplitBtf, parseBtf } from "../../../archive/btf/index.ts";
import { FormatError } from "../../../archive/errors.ts";
import { sha256Hex } from "../../../archive/file-digest.ts";
import { chooseFlags, kernelVersionOf } from "../../../pipeline/pahole-flags.ts";
import { convertModules, type ModuleOptions } from "../../../pipeline/stages/modules.ts";
import { paholeVersion, runPahole } from "../../../pipeline/tools/pahole.ts";
import { makeModule, makeVmlinux } from "../../fixtures/vmlinux.ts";
import { rejection } from "../../helpers/rejection.ts";

const release = "6.1.0-47-cloud-amd64";
const kernel = `debian/12/x86_64/${release}`;
let work: string;
let options: ModuleOptions & { tolerant: boolean };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-modules-stage-"));
  const vmlinux = await makeVmlinux(join(work, "vmlinux"), { withBtf: true });
  const pahole = await paholeVersion();
  const flags = chooseFlags(pahole, kernelVersionOf(release)!);
  const base = join(work, "vmlinux.btf");
  await runPahole(vmlinux, base, flags, { kernel });
  await mkdir(join(work, "out"));
  options = { kernel, kernelRelease: release, base, vmlinux, flags, outDir: join(work, "out"), tolerant: false };
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("convertModules", () => {
  it("converts each module to split BTF against the kernel's, with its digest, in the order given (extracted()'s, by name)", async () => {
    const plain = await makeModule(join(work, "zz_plain.ko"));
    const { converted } = await convertModules(
      [
        { name: "zz_plain", path: plain, bytes: 0 },
        { name: "aa_plain", path: plain, bytes: 0 },
      ],
      options,
    );
    expect(converted.map((module) => module.name)).toEqual(["zz_plain", "aa_plain"]);
    for (const module of converted) {
      expect(module.path).toBe(join(options.outDir, `${module.name}.btf`));
      const bytes = await readFile(module.path);
      expect(module.btf).toEqual({ sha256: sha256Hex(bytes), size: bytes.length });
      expect(module.ownBtf).toBeUndefined();
      // Split: it reads only with its base, and adds types after the base's.
      const base = parseBtf(await readFile(options.base));
      const joined = parseBtf(joinSplitBtf(await readFile(options.base), bytes));
      expect(joined.types.length).toBeGreaterThan(base.types.length);
    }
  });

  it("compares a module that carries its own .BTF with ours and records that section's digest", async () => {
    const own = await makeModule(join(work, "own.ko"), { btfBase: options.vmlinux });
    const {
      converted: [module],
    } = await convertModules([{ name: "own", path: own, bytes: 0 }], options);
    expect(module!.ownBtf).toMatchObject({
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      layouts: expect.any(Number),
    });
    expect(module!.ownBtf!.layouts).toBeGreaterThan(0);
  });

  it("refuses a module whose own .BTF disagrees with its DWARF, naming the module", async () => {
    const foreign = await makeModule(join(work, "foreign.ko"), { btfBase: options.vmlinux, foreignBtf: true });
    const error = await rejection(convertModules([{ name: "foreign", path: foreign, bytes: 0 }], options));
    expect(error.message).toContain("foreign");
  });

  it("refuses a module without DWARF by name before running pahole, saying to leave it out", async () => {
    const source = fileURLToPath(new URL("../../fixtures/vmlinux/module.c", import.meta.url));
    const stripped = join(work, "nodwarf.ko");
    await execa("gcc", ["-O0", "-c", "-o", stripped, source]);
    const error = await rejection(convertModules([{ name: "nodwarf", path: stripped, bytes: 0 }], options));
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toBe("module nodwarf has no DWARF (.debug_info): pahole has nothing to convert");
    expect((error as FormatError).hint).toBe("leave nodwarf out of the source's modules");
  });

  it("stops before converting anything once cancelled", async () => {
    const plain = await makeModule(join(work, "cancel.ko"));
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(
      convertModules([{ name: "cancel", path: plain, bytes: 0 }], { ...options, signal: controller.signal }),
    );
    expect(error.name).toBe("AbortError");
  });
});
