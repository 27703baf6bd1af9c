// Registered BPF objects, end to end: `btfmill run` minifies every converted kernel for each
// object set and for their union, records relocation coverage, re-minifies from the stored
// full BTF (no package download) only the sets whose objects changed, and `btfmill coverage`
// names the field a kernel lacks.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFile } from "../../archive/file-digest.ts";
import { readManifest } from "../../archive/state.ts";
import { dbgPackage, type AptMirror } from "../fixtures/apt-mirror.ts";
import { serveBookwormMirror } from "../fixtures/bookworm-mirror.ts";
import { makeCoreObject } from "../fixtures/bpf-objects.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { checkArchiveMinified, ciliumChecker } from "../helpers/cilium-check.ts";
import { runBtfmill } from "../helpers/cli.ts";
import type { StaticServer } from "../helpers/static-server.ts";

describe("btfmill run with registered BPF objects", () => {
  let work: string;
  let mirror: AptMirror;
  let server: StaticServer;
  let configPath: string;
  let objects: Record<"tcprtt" | "sockops" | "kprobe" | "flavors", string>;
  const archive = () => join(work, "archive");
  const manifest = async () => await readManifest(archive());
  const debDownloads = () => server.requests.filter((request) => request.path.endsWith(".deb")).length;
  const writeConfig = (sets: Record<string, string[]>) =>
    writeFile(
      configPath,
      JSON.stringify({
        archive: archive(),
        sources: [
          {
            distro: "debian",
            release: "12",
            arch: "x86_64",
            mirror: server.url,
            keyring: mirror.keyring,
            kernelsWithBtf: "all",
          },
        ],
        objects: sets,
      }),
    );

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-minify-"));
    await mkdir(join(work, "objects"));
    objects = {
      tcprtt: await makeCoreObject(join(work, "objects"), "tcprtt"),
      sockops: await makeCoreObject(join(work, "objects"), "sockops"),
      kprobe: await makeCoreObject(join(work, "objects"), "kprobe"),
      flavors: await makeCoreObject(join(work, "objects"), "flavors"),
    };
    ({ mirror, server } = await serveBookwormMirror(work, [
      dbgPackage({ kernel: "6.1.0-1-amd64", version: "6.1.1-1", vmlinux: await makeVmlinux(join(work, "normal.o")) }),
      dbgPackage({
        kernel: "6.1.0-1-cloud-amd64",
        version: "6.1.1-1",
        vmlinux: await makeVmlinux(join(work, "renamed.o"), { variant: "renamed" }),
      }),
    ]));
    configPath = join(work, "btfmill.json");
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("minifies each kernel for every set and the union, stored by content, with exact coverage", async () => {
    await writeConfig({ net: [objects.tcprtt, objects.sockops], proc: [objects.kprobe] });
    const run = await runBtfmill(["run", "--config", configPath]);
    expect(run.stderr).toContain("summary: 2 ok, 0 failed, 0 skipped, 0 unchanged, 6 minified");
    expect(run.exitCode).toBe(0);
    const { kernels } = await manifest();
    for (const entry of Object.values(kernels)) {
      expect(Object.keys(entry.minified ?? {}).sort()).toEqual(["all", "net", "proc"]);
      for (const record of Object.values(entry.minified!)) {
        expect(record.error).toBeUndefined();
        expect(record.file!.path).toBe(`minified/${record.file!.sha256.slice(0, 2)}/${record.file!.sha256}.btf`);
        expect(await digestFile(join(archive(), record.file!.path))).toEqual({
          sha256: record.file!.sha256,
          size: record.file!.size,
        });
        await execa("bpftool", ["btf", "dump", "file", join(archive(), record.file!.path)]);
      }
    }
    const normal = kernels["debian/12/x86_64/6.1.0-1-amd64"]!.minified!;
    const renamed = kernels["debian/12/x86_64/6.1.0-1-cloud-amd64"]!.minified!;
    const tcprtt = (record: (typeof normal)[string]) => record.coverage.find((object) => object.object === "tcprtt.o")!;
    expect(tcprtt(normal.net!).unresolved).toEqual([]);
    expect(tcprtt(normal.net!).resolved).toBe(tcprtt(normal.net!).total);
    expect(tcprtt(renamed.net!).unresolved.map((miss) => [miss.name, miss.why])).toContainEqual([
      "struct tcp_sock::srtt_us",
      "struct tcp_sock has no member srtt_us",
    ]);
    // The union serves every object: its coverage lists all three.
    expect(normal.all!.coverage.map((object) => object.object).sort()).toEqual(["kprobe.o", "sockops.o", "tcprtt.o"]);
    // Different kernels give different minified bytes; the same kernel's union differs from a subset.
    expect(normal.net!.file!.sha256).not.toBe(renamed.net!.file!.sha256);
    expect(normal.all!.file!.sha256).not.toBe(normal.proc!.file!.sha256);
  });

  it("every minified file gives cilium/ebpf the same CO-RE fixups as the kernel's full BTF", async (context) => {
    const checker = await ciliumChecker();
    context.skip("skip" in checker, "skip" in checker ? checker.skip : "");
    const binary = "binary" in checker ? checker.binary : "";
    const checked = await checkArchiveMinified(binary, archive(), await manifest(), (name) =>
      join(work, "objects", name),
    );
    expect(checked).toEqual({ files: 6, failures: [] });
  });

  it("coverage names the kernel and the field that is missing", async () => {
    const table = await runBtfmill(["coverage", "--config", configPath, "--set", "net"]);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^BROKEN debian\/12\/x86_64\/6\.1\.0-1-cloud-amd64 +tcprtt\.o: /m);
    expect(table.stdout).toMatch(/FIELD_BYTE_OFFSET struct tcp_sock::srtt_us: struct tcp_sock has no member srtt_us/);
    expect(table.stdout).toMatch(/^ok +debian\/12\/x86_64\/6\.1\.0-1-amd64 +tcprtt\.o: (\d+)\/\1 resolve/m);
    const json = JSON.parse((await runBtfmill(["coverage", "--config", configPath, "--json"])).stdout) as {
      set: string;
      kernels: Record<string, unknown[]>;
    };
    expect(json.set).toBe("all");
    expect(Object.keys(json.kernels).sort()).toEqual([
      "debian/12/x86_64/6.1.0-1-amd64",
      "debian/12/x86_64/6.1.0-1-cloud-amd64",
    ]);
    const unknown = await runBtfmill(["coverage", "--config", configPath, "--set", "nope"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("sets recorded: all, net, proc");
  });

  it("redoes nothing when nothing changed, and only the changed sets when an object set changes, without downloading packages", async () => {
    const before = debDownloads();
    const idle = await runBtfmill(["run", "--config", configPath]);
    expect(idle.stderr).toMatch(/^summary: 0 ok, 0 failed, 0 skipped, 2 unchanged$/m);
    const netBefore = (await manifest()).kernels["debian/12/x86_64/6.1.0-1-amd64"]!.minified!.net;

    await writeConfig({ net: [objects.tcprtt, objects.sockops], proc: [objects.kprobe, objects.flavors] });
    const changed = await runBtfmill(["run", "--config", configPath]);
    expect(changed.stderr).toContain("summary: 0 ok, 0 failed, 0 skipped, 2 unchanged, 4 minified");
    expect(debDownloads()).toBe(before);
    const after = (await manifest()).kernels["debian/12/x86_64/6.1.0-1-amd64"]!.minified!;
    expect(after.net).toEqual(netBefore);
    expect(after.proc!.coverage.map((object) => object.object)).toEqual(["kprobe.o", "flavors.o"]);
    // flavors.o's ___old read is dead code where srtt_us exists: guarded, naming the check, in the manifest and the table.
    const flavors = after.proc!.coverage.find((object) => object.object === "flavors.o")!;
    expect(flavors.unresolved).toEqual([]);
    expect(flavors.guarded.find((entry) => entry.name === "struct tcp_sock___old::srtt")).toMatchObject({
      program: "read_srtt",
      guard: { index: 0, kind: "FIELD_EXISTS", name: "struct tcp_sock::srtt_us", value: 1 },
    });
    const table = await runBtfmill(["coverage", "--config", configPath, "--set", "proc"]);
    expect(table.stdout).toMatch(/^ok +debian\/12\/x86_64\/6\.1\.0-1-amd64 +flavors\.o: 15\/17 resolve, 2 guarded$/m);
    expect(table.stdout).toContain(
      "guarded fentry/tcp_rcv_established FIELD_BYTE_OFFSET struct tcp_sock___old::srtt: struct tcp_sock has no member srtt; relo #0 FIELD_EXISTS struct tcp_sock::srtt_us is 1 here",
    );

    const checker = await ciliumChecker();
    if ("binary" in checker) {
      expect(
        await checkArchiveMinified(checker.binary, archive(), await manifest(), (name) => join(work, "objects", name)),
      ).toEqual({ files: 6, failures: [] });
    }

    await writeConfig({ net: [objects.tcprtt] });
    await runBtfmill(["run", "--config", configPath]);
    expect(Object.keys((await manifest()).kernels["debian/12/x86_64/6.1.0-1-amd64"]!.minified!).sort()).toEqual([
      "all",
      "net",
    ]);
  });

  it("refuses an object that is not a BPF object, naming it, before any work", async () => {
    const notBpf = join(work, "normal.o");
    await writeConfig({ net: [notBpf] });
    const run = await runBtfmill(["run", "--config", configPath]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(`object set "net": ${notBpf} is not usable`);
  });
});
