// kernelsWithBtf "own": the fetch stops decoding at the end of `.BTF` when System.map, ahead of
// the vmlinux in the payload, places the section, and otherwise decodes to the vmlinux's end.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readElfSection } from "../../../archive/elf.ts";
import { IntegrityError } from "../../../archive/errors.ts";
import { fetchVmlinux } from "../../../pipeline/stages/fetch.ts";
import { takeOwnBtf } from "../../../pipeline/stages/own-btf.ts";
import { validateBtf } from "../../../pipeline/stages/validate.ts";
import { buildKernelDeb, kernelPackageFor } from "../../fixtures/kernel-deb.ts";
import type { KernelDeb } from "../../fixtures/kernel-deb.ts";
import { startStaticServer } from "../../helpers/static-server.ts";
import type { StaticServer } from "../../helpers/static-server.ts";

let dir: string;
let mirror: string;
let server: StaticServer;
let mapped: KernelDeb;
let unmapped: KernelDeb;
let mapAfter: KernelDeb;
let section: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-fetch-own-"));
  mirror = join(dir, "mirror");
  await mkdir(mirror);
  mapped = await buildKernelDeb(mirror, "mapped", { compression: "xz", linked: {} });
  unmapped = await buildKernelDeb(mirror, "unmapped", { compression: "xz", linked: { btfSymbols: false } });
  mapAfter = await buildKernelDeb(mirror, "map-after", { compression: "xz", linked: { systemMapAfter: true } });
  section = (await readElfSection(join(mirror, "mapped.vmlinux"), ".BTF"))!;
  server = await startStaticServer(mirror);
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const urlOf = (deb: KernelDeb) => `${server.url}/${deb.path.slice(mirror.length + 1)}`;
const destinationFor = async (name: string) => join(await mkdtemp(join(dir, `${name}-`)), "vmlinux");

describe("fetchVmlinux with ownBtf", () => {
  it("stops at the end of .BTF when System.map places it, leaving just the section, after hashing the whole package", async () => {
    const destination = await destinationFor("mapped");
    const seen: string[] = [];
    const fetched = await fetchVmlinux(kernelPackageFor(mapped, urlOf(mapped)), destination, {
      ownBtf: true,
      speculative: async (_path, _signal, btfOnly) => seen.push(String(btfOnly)),
    });
    expect(fetched.btfOnly).toBe(true);
    expect(seen).toEqual(["true"]);
    expect(fetched.vmlinuxBytes).toBe(mapped.vmlinux.length);
    expect(fetched.downloadedBytes).toBe(mapped.size);
    expect(fetched.sha256).toBe(mapped.sha256);
    // Decoding stopped inside the vmlinux, far from the 32 MiB of modules after it.
    expect(fetched.payloadBytes).toBeLessThan(mapped.payloadBytes / 4);
    const bytes = await readFile(destination);
    expect(section.length).toBeGreaterThan(0);
    expect(bytes.equals(section)).toBe(true);

    // What the own-btf stage publishes: checked, then parsed by our reader and bpftool.
    const btf = join(dir, "mapped.btf");
    await takeOwnBtf(destination, btf, "test/mapped");
    const validation = await validateBtf(btf, { kernel: "test/mapped", kernelRelease: mapped.kernel, own: true });
    expect(validation.kernelHasBtf).toBe(true);
    const { stdout } = await execa("bpftool", ["btf", "dump", "file", btf]);
    expect(stdout).toContain("STRUCT 'tcp_sock'");
  });

  it("decodes the whole vmlinux when System.map lacks __start_BTF/__stop_BTF", async () => {
    const destination = await destinationFor("unmapped");
    const fetched = await fetchVmlinux(kernelPackageFor(unmapped, urlOf(unmapped)), destination, { ownBtf: true });
    expect(fetched.btfOnly).toBe(false);
    expect((await readFile(destination)).equals(unmapped.vmlinux)).toBe(true);
  });

  it("decodes the whole vmlinux when System.map comes after it in the payload", async () => {
    const destination = await destinationFor("map-after");
    const fetched = await fetchVmlinux(kernelPackageFor(mapAfter, urlOf(mapAfter)), destination, { ownBtf: true });
    expect(fetched.btfOnly).toBe(false);
    expect((await readFile(destination)).equals(mapAfter.vmlinux)).toBe(true);
  });

  it("decodes the whole vmlinux when own BTF is not asked for, System.map or not", async () => {
    const destination = await destinationFor("plain");
    const fetched = await fetchVmlinux(kernelPackageFor(mapped, urlOf(mapped)), destination);
    expect(fetched.btfOnly).toBe(false);
    expect((await readFile(destination)).equals(mapped.vmlinux)).toBe(true);
  });

  it("accepts no section from a package that fails its sha256, though decoding stopped early", async () => {
    const destination = await destinationFor("tampered");
    const pkg = { ...kernelPackageFor(mapped, urlOf(mapped)), sha256: "0".repeat(64) };
    const error = await fetchVmlinux(pkg, destination, { ownBtf: true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(await readFile(destination).catch(() => undefined)).toBeUndefined();
  });

  it("refuses bytes that are no whole BTF as the kernel's own", async () => {
    const bogus = join(dir, "bogus.section");
    await writeFile(bogus, Buffer.alloc(4096));
    await expect(takeOwnBtf(bogus, join(dir, "bogus.btf"), "test/bogus")).rejects.toThrow(/no whole BTF/);
  });
});
