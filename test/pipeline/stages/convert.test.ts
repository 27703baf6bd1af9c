// The convert stage on a small real vmlinux (gcc -g): pahole writes BTF btfmill can read, with the
// flags chosen for the kernel's version; a release it cannot date, or a vmlinux without DWARF,
// is refused before pahole runs.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBtf } from "../../../archive/btf/index.ts";
import { FormatError, ToolError } from "../../../archive/errors.ts";
import { chooseFlags, kernelVersionOf } from "../../../pipeline/pahole-flags.ts";
import { convertVmlinux } from "../../../pipeline/stages/convert.ts";
import { paholeVersion, type ToolVersion } from "../../../pipeline/tools/pahole.ts";
import { makeVmlinux } from "../../fixtures/vmlinux.ts";
import { rejection } from "../../helpers/rejection.ts";

let work: string;
let vmlinux: string;
let pahole: ToolVersion;
const kernel = "debian/12/x86_64/6.1.0-47-cloud-amd64";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-convert-"));
  vmlinux = await makeVmlinux(join(work, "vmlinux"));
  pahole = await paholeVersion();
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("convertVmlinux", () => {
  it("writes BTF holding the vmlinux's structs, with the flags chosen for the release's kernel version", async () => {
    const out = join(work, "ok.btf");
    const { flags } = await convertVmlinux(vmlinux, out, { kernel, kernelRelease: "6.1.0-47-cloud-amd64", pahole });
    expect(flags).toEqual(chooseFlags(pahole, kernelVersionOf("6.1.0-47-cloud-amd64")!));
    expect(flags.join(" ")).not.toMatch(/-j\d/);
    const spec = parseBtf(await readFile(out));
    expect(spec.types.some((type) => type.kind === "STRUCT" && type.name === "tcp_sock")).toBe(true);
  });

  it("uses the config's flags as given, and its thread count", async () => {
    const out = join(work, "configured.btf");
    const { flags } = await convertVmlinux(vmlinux, out, {
      kernel,
      kernelRelease: "5.10.0-30-amd64",
      pahole,
      config: { flags: ["--btf_gen_floats"], threads: 1 },
    });
    expect(flags).toEqual(["--btf_gen_floats"]);
    expect(parseBtf(await readFile(out)).types.length).toBeGreaterThan(10);
  });

  it("refuses a release it cannot tell the kernel version from, saying how to convert it anyway", async () => {
    const error = await rejection(
      convertVmlinux(vmlinux, join(work, "x.btf"), { kernel, kernelRelease: "generic", pahole }),
    );
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toBe('cannot tell the kernel version from release "generic"');
    expect((error as FormatError).kernel).toBe(kernel);
    expect((error as FormatError).hint).toMatch(/pahole\.flags/);
  });

  it("refuses a vmlinux with no DWARF before running pahole", async () => {
    const stripped = await makeVmlinux(join(work, "stripped"), { withoutDwarf: true });
    const error = await rejection(
      convertVmlinux(stripped, join(work, "y.btf"), { kernel, kernelRelease: "6.1.0-47-cloud-amd64", pahole }),
    );
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toMatch(/has no DWARF/);
  });

  it("passes on pahole's own failure as its ToolError, naming the kernel", async () => {
    const error = await rejection(
      convertVmlinux(vmlinux, join(work, "absent-dir", "z.btf"), {
        kernel,
        kernelRelease: "6.1.0-47-cloud-amd64",
        pahole,
        config: { flags: ["--no-such-pahole-flag"] },
      }),
    );
    expect(error).toBeInstanceOf(ToolError);
    expect((error as ToolError).kernel).toBe(kernel);
  });
});
