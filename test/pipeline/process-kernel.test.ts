import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pLimit from "p-limit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { produceBtf } from "../../pipeline/process-kernel.ts";
import { paholeVersion } from "../../pipeline/tools/pahole.ts";
import { buildKernelDeb, kernelPackageFor } from "../fixtures/kernel-deb.ts";
import { makeModule } from "../fixtures/vmlinux.ts";
import type { KernelDeb } from "../fixtures/kernel-deb.ts";
import { startStaticServer } from "../helpers/static-server.ts";
import type { StaticServer } from "../helpers/static-server.ts";

let dir: string;
let server: StaticServer;
const debs: KernelDeb[] = [];
let withModule: KernelDeb;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-produce-"));
  const mirror = join(dir, "mirror");
  await mkdir(mirror);
  for (const kernel of ["6.1.0-97-cloud-amd64", "6.1.0-98-cloud-amd64"]) {
    debs.push(await buildKernelDeb(mirror, kernel, { kernel, compression: "xz" }));
  }
  // nf_conntrack.ko after the 32 MiB of filler modules: decoding goes on well past the vmlinux.
  const ko = await makeModule(join(dir, "module.ko"));
  withModule = await buildKernelDeb(mirror, "with-module", {
    kernel: "6.1.0-99-cloud-amd64",
    compression: "xz",
    modules: { "net/nf_conntrack.ko": ko },
  });
  server = await startStaticServer(mirror);
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("produceBtf", () => {
  it("frees the fetch slot once the vmlinux is out, so the next kernel downloads while the first waits for pahole", async () => {
    const pahole = await paholeVersion();
    // pahole may start only once every kernel waits for it: with one fetch slot, that happens
    // only if each kernel gives its fetch slot back before its pahole runs (else this hangs).
    const waiting: string[] = [];
    let open!: () => void;
    const allWaiting = new Promise<void>((resolve) => (open = resolve));
    const convertLimit = pLimit(1);
    const slots = {
      fetch: pLimit(1),
      convert: async <T>(work: () => Promise<T>): Promise<T> => {
        waiting.push("kernel");
        if (waiting.length === debs.length) open();
        await allWaiting;
        return convertLimit(work);
      },
    };
    const scratches = await Promise.all(debs.map(() => mkdtemp(join(dir, "scratch-"))));
    const results = await Promise.all(
      debs.map(async (deb, index) => {
        const pkg = kernelPackageFor(deb, `${server.url}/${deb.path.slice(join(dir, "mirror").length + 1)}`);
        const result = await produceBtf(pkg, scratches[index]!, { pahole, paholeConfig: {}, slots, onStage: () => {} });
        return { result, files: await readdir(scratches[index]!) };
      }),
    );
    expect(waiting).toHaveLength(debs.length);
    for (const { result, files } of results) {
      expect(result.validation.kinds).toContain("STRUCT");
      expect(result.fetched.sha256).toMatch(/^[0-9a-f]{64}$/);
      // Only the BTF is left: the vmlinux is deleted once converted.
      expect(files).toEqual([expect.stringMatching(/\.btf$/)]);
    }
  });

  it("with modules, starts pahole once the vmlinux is out but holds the fetch slot until the modules are decoded too", async () => {
    const pahole = await paholeVersion();
    const scratch = await mkdtemp(join(dir, "scratch-"));
    // What the scratch folder's (unverified) module folder holds when each slot is entered or left.
    const modulesNow = () =>
      readdirSync(scratch)
        .filter((name) => name.endsWith(".modules"))
        .flatMap((name) => readdirSync(join(scratch, name)));
    let atFetchRelease: string[] = [];
    let atConvertStart: string[] | undefined;
    const slots = {
      fetch: async <T>(work: () => Promise<T>): Promise<T> => {
        try {
          return await work();
        } finally {
          atFetchRelease = modulesNow();
        }
      },
      convert: async <T>(work: () => Promise<T>): Promise<T> => {
        atConvertStart ??= modulesNow();
        return work();
      },
    };
    const pkg = { ...kernelPackageFor(withModule, `${server.url}/with-module.deb`), modules: ["nf_conntrack"] };
    const result = await produceBtf(pkg, scratch, { pahole, paholeConfig: {}, slots, onStage: () => {} });
    expect(atConvertStart).toEqual([]);
    expect(atFetchRelease).toEqual(["nf_conntrack.ko"]);
    expect(result.modules.converted.map((module) => module.name)).toEqual(["nf_conntrack"]);
    // The vmlinux and the modules' debug files are gone; the kernel's BTF and the modules' split BTF stay.
    expect((await readdir(scratch)).sort()).toEqual([`${withModule.kernel}.btf`, "modules"]);
    expect(await readdir(join(scratch, "modules"))).toEqual(["nf_conntrack.btf"]);
  });
});
