// Kernels that ship BTF: per flavor, in version order, conversion stops at the first kernel whose
// vmlinux carries `.BTF`; newer kernels of that flavor are recorded as skipped and never
// downloaded; other flavors go on; `kernelsWithBtf: "all"` converts them after all.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readElfSection } from "../../archive/elf.ts";
import { readManifest } from "../../archive/state.ts";
import type { KernelPackage } from "../../distros/types.ts";
import { flavorChains } from "../../pipeline/flavor-chains.ts";
import { dbgPackage, type AptMirror } from "../fixtures/apt-mirror.ts";
import { serveBookwormMirror } from "../fixtures/bookworm-mirror.ts";
import { makeLinkedVmlinux, makeVmlinux } from "../fixtures/vmlinux.ts";
import { runBtfmill } from "../helpers/cli.ts";
import type { StaticServer } from "../helpers/static-server.ts";

function pkg(kernel: string, flavor: string): KernelPackage {
  return {
    key: { distro: "debian", release: "12", arch: "x86_64", kernel },
    flavor,
    name: kernel,
    version: "1",
    url: "",
    sha256: "",
    size: 0,
    format: "deb",
    vmlinuxPath: "",
    origin: "",
  };
}

describe("flavorChains", () => {
  it("makes one oldest-first chain per flavor, or one chain per kernel with kernelsWithBtf all", () => {
    const packages = [
      pkg("6.1.0-2-cloud-amd64", "cloud-amd64"),
      pkg("6.1.0-1-cloud-amd64", "cloud-amd64"),
      pkg("6.1.0-2-amd64", "amd64"),
    ];
    const source = { distro: "debian", release: "12", arch: "x86_64" as const };
    expect(
      flavorChains([{ source: { ...source, kernelsWithBtf: "own" }, packages }]).map((chain) => [
        chain.stopAtBtf,
        chain.ownBtf,
        chain.packages.length,
      ]),
    ).toEqual([
      [false, true, 2],
      [false, true, 1],
    ]);
    expect(
      flavorChains([{ source, packages }]).map((chain) => [chain.stopAtBtf, chain.packages.map((p) => p.key.kernel)]),
    ).toEqual([
      [true, ["6.1.0-1-cloud-amd64", "6.1.0-2-cloud-amd64"]],
      [true, ["6.1.0-2-amd64"]],
    ]);
    expect(
      flavorChains([{ source: { ...source, kernelsWithBtf: "all" }, packages }]).map((chain) => chain.packages.length),
    ).toEqual([1, 1, 1]);
  });
});

describe("btfmill run stops a flavor at its first kernel with BTF", () => {
  let work: string;
  let mirror: AptMirror;
  let server: StaticServer;
  let configPath: string;
  let ownSection: Buffer;
  let linkedSection: Buffer;
  const archive = () => join(work, "archive");
  const manifestNow = () => readManifest(archive());
  const writeConfig = (kernelsWithBtf: "first" | "all" | "own", into = archive()) =>
    writeFile(
      configPath,
      JSON.stringify({
        archive: into,
        sources: [
          {
            distro: "debian",
            release: "12",
            arch: "x86_64",
            mirror: server.url,
            keyring: mirror.keyring,
            kernelsWithBtf,
          },
        ],
      }),
    );

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-chain-"));
    const withBtf = await makeVmlinux(join(work, "with-btf.o"), { withBtf: true });
    ownSection = (await readElfSection(withBtf, ".BTF"))!;
    // Linked like a real vmlinux, with System.map ahead of it: "own" stops decoding at its .BTF's end.
    const linked = await makeLinkedVmlinux(join(work, "linked"));
    linkedSection = (await readElfSection(linked.path, ".BTF"))!;
    const plain = await makeVmlinux(join(work, "plain.o"));
    ({ mirror, server } = await serveBookwormMirror(work, [
      dbgPackage({ kernel: "5.10.0-1-cloud-amd64", version: "5.10.1-1", vmlinux: plain }),
      dbgPackage({ kernel: "6.1.0-1-cloud-amd64", version: "6.1.1-1", vmlinux: withBtf }),
      dbgPackage({ kernel: "6.1.0-2-cloud-amd64", version: "6.1.2-1", vmlinux: withBtf }),
      dbgPackage({
        kernel: "6.1.0-3-cloud-amd64",
        version: "6.1.3-1",
        vmlinux: linked.path,
        systemMap: linked.systemMap,
      }),
      dbgPackage({ kernel: "6.1.0-1-amd64", version: "6.1.1-1", vmlinux: plain }),
      dbgPackage({ kernel: "6.1.0-2-amd64", version: "6.1.2-1", vmlinux: plain }),
    ]));
    configPath = join(work, "btfmill.json");
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("converts up to the first kernel with BTF, records the newer ones as skipped without downloading them", async () => {
    await writeConfig("first");
    const run = await runBtfmill(["run", "--config", configPath]);
    expect(run.stderr).toContain("summary: 4 ok, 0 failed, 2 skipped, 0 unchanged");
    expect(run.exitCode).toBe(0);
    const manifest = await manifestNow();
    const status = Object.fromEntries(
      Object.entries(manifest.kernels).map(([key, e]) => [key.split("/")[3], [e.status, e.kernelHasBtf ?? null]]),
    );
    expect(status).toEqual({
      "5.10.0-1-cloud-amd64": ["ok", false],
      "6.1.0-1-cloud-amd64": ["ok", true],
      "6.1.0-2-cloud-amd64": ["skipped", null],
      "6.1.0-3-cloud-amd64": ["skipped", null],
      "6.1.0-1-amd64": ["ok", false],
      "6.1.0-2-amd64": ["ok", false],
    });
    expect(manifest.kernels["debian/12/x86_64/6.1.0-3-cloud-amd64"]?.reason).toContain(
      "6.1.0-1-cloud-amd64, already ships its own BTF",
    );
    const downloaded = server.requests.filter((r) => r.path.endsWith(".deb")).map((r) => r.path);
    expect(
      downloaded.some((path) => path.includes("6.1.0-2-cloud-amd64") || path.includes("6.1.0-3-cloud-amd64")),
    ).toBe(false);
    expect(downloaded).toHaveLength(4);
  });

  it("a second run leaves the skipped kernels alone; kernelsWithBtf all converts them", async () => {
    const again = await runBtfmill(["run", "--config", configPath]);
    expect(again.stderr).toContain("summary: 0 ok, 0 failed, 0 skipped, 6 unchanged");
    await writeConfig("all");
    const all = await runBtfmill(["run", "--config", configPath]);
    expect(all.stderr).toContain("summary: 2 ok, 0 failed, 0 skipped, 4 unchanged");
    const manifest = await manifestNow();
    expect(manifest.kernels["debian/12/x86_64/6.1.0-3-cloud-amd64"]).toMatchObject({
      status: "ok",
      kernelHasBtf: true,
    });
  });

  it("kernelsWithBtf own converts a flavor's first kernel with BTF by pahole, then publishes the later kernels' own .BTF bytes", async () => {
    const own = join(work, "archive-own");
    await writeConfig("own", own);
    const run = await runBtfmill(["run", "--config", configPath]);
    expect(run.stderr).toContain("summary: 6 ok, 0 failed, 0 skipped, 0 unchanged");
    const manifest = await readManifest(own);
    const entry = (kernel: string) => manifest.kernels[`debian/12/x86_64/${kernel}`]!;
    // The flavor's fidelity check: pahole's BTF, compared with the kernel's own.
    expect(entry("6.1.0-1-cloud-amd64")).toMatchObject({ status: "ok", kernelHasBtf: true });
    expect(entry("6.1.0-1-cloud-amd64").ownBtf).toBeUndefined();
    expect(entry("6.1.0-1-cloud-amd64").pahole?.flags.length).toBeGreaterThan(0);
    // 6.1.0-2's package has no System.map: its vmlinux is decoded whole; 6.1.0-3's section is cut out early.
    for (const [kernel, section] of [
      ["6.1.0-2-cloud-amd64", ownSection],
      ["6.1.0-3-cloud-amd64", linkedSection],
    ] as const) {
      expect(entry(kernel)).toMatchObject({
        status: "ok",
        kernelHasBtf: true,
        ownBtf: true,
        btf: { sha256: createHash("sha256").update(section).digest("hex"), size: section.length },
      });
      expect(entry(kernel).pahole).toBeUndefined();
    }
    // Kernels without .BTF are converted by pahole whatever their place in the chain.
    for (const kernel of ["5.10.0-1-cloud-amd64", "6.1.0-1-amd64", "6.1.0-2-amd64"])
      expect(entry(kernel).ownBtf).toBeUndefined();
  });
});
