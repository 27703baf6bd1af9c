// The fetch stage with a source's `modules`: decoding goes on past the vmlinux exactly as far as
// the selected modules' debug files, which are accepted only with a package that matched its index.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IntegrityError } from "../../../archive/errors.ts";
import { fetchVmlinux, modulesDirFor } from "../../../pipeline/stages/fetch.ts";
import { buildKernelDeb, kernelPackageFor, type KernelDeb } from "../../fixtures/kernel-deb.ts";
import { makeModule } from "../../fixtures/vmlinux.ts";
import { startStaticServer, type StaticServer } from "../../helpers/static-server.ts";

let dir: string;
let mirror: string;
let server: StaticServer;
let deb: KernelDeb;
let module: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-fetch-modules-"));
  mirror = join(dir, "mirror");
  await mkdir(mirror);
  const ko = await makeModule(join(dir, "module.ko"));
  module = await readFile(ko);
  // In path order: drivers/kvm-intel.ko, the 32 MiB of module-N.ko, net/nf_conntrack.ko, zz/xfs.ko.
  deb = await buildKernelDeb(mirror, "kernel", {
    compression: "xz",
    modules: { "drivers/kvm-intel.ko": ko, "net/netfilter/nf_conntrack.ko": ko, "zz/xfs.ko": ko },
  });
  server = await startStaticServer(mirror);
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const urlOf = (name: string) => `${server.url}/${name}`;

async function destinationFor(name: string): Promise<string> {
  return join(await mkdtemp(join(dir, `${name}-`)), "vmlinux");
}

describe("fetchVmlinux with modules", () => {
  it("writes the selected modules under their lsmod names (kvm-intel.ko is kvm_intel) and names the ones the package lacks", async () => {
    const destination = await destinationFor("selected");
    const pkg = { ...kernelPackageFor(deb, urlOf("kernel.deb")), modules: ["kvm_intel", "nf-conntrack", "absent"] };
    const result = await fetchVmlinux(pkg, destination);
    expect((await readFile(destination)).equals(deb.vmlinux)).toBe(true);
    expect(result.modules.map(({ name, bytes }) => ({ name, bytes }))).toEqual([
      { name: "kvm_intel", bytes: module.length },
      { name: "nf_conntrack", bytes: module.length },
    ]);
    expect(result.missingModules).toEqual(["absent"]);
    for (const extracted of result.modules) expect((await readFile(extracted.path)).equals(module)).toBe(true);
    expect((await readdir(modulesDirFor(destination))).sort()).toEqual(["kvm_intel.ko", "nf_conntrack.ko"]);
  });

  it("stops decoding at the last selected module: xfs, after it in the payload, is never decoded", async () => {
    const early = await fetchVmlinux(
      { ...kernelPackageFor(deb, urlOf("kernel.deb")), modules: ["kvm_intel"] },
      await destinationFor("early"),
    );
    const none = await fetchVmlinux(kernelPackageFor(deb, urlOf("kernel.deb")), await destinationFor("none"));
    const all = await fetchVmlinux(
      { ...kernelPackageFor(deb, urlOf("kernel.deb")), modules: "all" },
      await destinationFor("all"),
    );
    // kvm-intel.ko sits before the 32 MiB of filler modules, xfs.ko after them.
    expect(early.payloadBytes).toBeLessThan(deb.payloadBytes / 4);
    expect(none.payloadBytes).toBeLessThan(deb.payloadBytes / 4);
    expect(none.modules).toEqual([]);
    expect(all.payloadBytes).toBeGreaterThan(deb.payloadBytes - 1024 * 1024);
    expect(all.modules.map((extracted) => extracted.name)).toEqual([
      "kvm_intel",
      "module_0",
      "module_1",
      "module_2",
      "module_3",
      "nf_conntrack",
      "xfs",
    ]);
  });

  it("starts the work on the vmlinux as soon as it is written, while the modules after it still decode", async () => {
    const result = await fetchVmlinux(
      { ...kernelPackageFor(deb, urlOf("kernel.deb")), modules: "all" },
      await destinationFor("early-work"),
      {
        // The unverified modules are written beside the unverified vmlinux, in `<vmlinux>.modules`.
        speculative: async (vmlinux) => ({
          modulesAtStart: await readdir(`${vmlinux}.modules`),
          vmlinux: await readFile(vmlinux),
        }),
      },
    );
    expect(result.speculative!.vmlinux.equals(deb.vmlinux)).toBe(true);
    expect(result.speculative!.modulesAtStart).not.toContain("xfs.ko");
    expect(result.modules.at(-1)?.name).toBe("xfs");
  });

  it("keeps no module of a package altered after them", async () => {
    const bytes = await readFile(deb.path);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 1;
    await writeFile(join(mirror, "tampered.deb"), bytes);
    const destination = await destinationFor("tampered");
    const pkg = { ...kernelPackageFor(deb, urlOf("tampered.deb")), modules: ["nf_conntrack"] };
    await expect(fetchVmlinux(pkg, destination)).rejects.toThrow(IntegrityError);
    expect(await readdir(join(destination, ".."))).toEqual([]);
  });
});
