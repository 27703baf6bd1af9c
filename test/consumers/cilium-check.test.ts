// cilium/ebpf, as a loader, agrees with the full BTF on every minified file bpftool writes for the
// fixture objects, and tells a damaged or wrongly minified file apart: the consumer check the
// pipeline tests run on every file they minify (test/helpers/cilium-check.ts).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBtfHeader } from "../../archive/btf/header.ts";
import { trailingSize } from "../../archive/btf/parse.ts";
import { parseBtfStrings } from "../../archive/btf/strings.ts";
import { minCoreBtf } from "../../pipeline/tools/bpftool.ts";
import { stopSpawner } from "../../pipeline/tools/spawner.ts";
import {
  bpfFixtures,
  guardsFixture,
  makeCoreObject,
  makeKernelBtf,
  type KernelVariant,
} from "../fixtures/bpf-objects.ts";
import { ciliumChecker, runCiliumCheck } from "../helpers/cilium-check.ts";
import { hostHasKernelBtf, hostKernelBtf } from "../helpers/host-kernel-btf.ts";

const checker = await ciliumChecker();
const skip = "skip" in checker ? checker.skip : undefined;

/** Adds `bits` to the offset of `struct`'s member `member` in raw BTF bytes, as a broken writer would. */
function moveMember(bytes: Buffer, struct: string, member: string, bits: number): Buffer {
  const out = Buffer.from(bytes);
  const header = parseBtfHeader(out);
  const le = header.littleEndian;
  const strings = parseBtfStrings(out.subarray(header.stringStart, header.stringStart + header.stringLength));
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let at = header.typeStart; at < header.typeStart + header.typeLength; ) {
    const info = view.getUint32(at + 4, le);
    const [kind, vlen] = [(info >>> 24) & 0x1f, info & 0xffff];
    if (kind === 4 && strings.get(view.getUint32(at, le)) === struct) {
      for (let index = 0; index < vlen; index++) {
        const entry = at + 12 + index * 12;
        if (strings.get(view.getUint32(entry, le)) === member) {
          view.setUint32(entry + 8, view.getUint32(entry + 8, le) + bits, le);
          return out;
        }
      }
    }
    at += 12 + trailingSize(kind, vlen);
  }
  throw new Error(`no struct ${struct} with member ${member}`);
}

describe.skipIf(skip !== undefined)(
  `cilium/ebpf's CO-RE fixups on minified BTF${skip ? ` (skipped: ${skip})` : ""}`,
  () => {
    const binary = "binary" in checker ? checker.binary : "";
    let work: string;
    let objects: string[];
    const kernels = new Map<string, string>();

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), "btfmill-cilium-"));
      objects = await Promise.all([...bpfFixtures, guardsFixture].map((name) => makeCoreObject(work, name)));
      for (const variant of ["normal", "renamed", "missing", "moved"] satisfies KernelVariant[])
        kernels.set(variant, await makeKernelBtf(work, variant));
      if (hostHasKernelBtf) kernels.set("machine", hostKernelBtf);
    });
    afterAll(async () => {
      await stopSpawner();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it("finds every relocation of every program identical on the full and the minified BTF, on each fixture kernel and the machine's", async () => {
      for (const [name, full] of kernels) {
        const minified = join(work, `${name}.min.btf`);
        await minCoreBtf(full, minified, objects);
        const started = performance.now();
        const report = await runCiliumCheck(binary, full, minified, objects);
        const seconds = (performance.now() - started) / 1000;
        expect(report, name).toMatchObject({ objects: 5, programs: 14, relocations: 39, differences: [], exitCode: 0 });
        console.log(
          `cilium-check ${name}: ${report.relocations} relocations of ${report.objects} objects identical in ${seconds.toFixed(2)} s`,
        );
      }
    });

    it("catches a member offset moved by 8 bytes in the minified file", async () => {
      const full = kernels.get("normal")!;
      const minified = join(work, "normal.min.btf");
      await minCoreBtf(full, minified, objects);
      const moved = join(work, "moved-by-8.btf");
      await writeFile(moved, moveMember(await readFile(minified), "tcp_sock", "srtt_us", 64));
      const report = await runCiliumCheck(binary, full, moved, objects);
      expect(report.exitCode).toBe(1);
      expect(report.differences).toContain(
        `${objects[0]} tcp_rcv CORERelocation(byte_off, Struct:"tcp_sock"[0:1], local_id=6): full BTF gives byte_off=48->48, minified gives byte_off=48->56`,
      );
    });

    it("catches a file minified for other objects: the reads it lacks are poisoned there, not on the full BTF", async () => {
      const full = kernels.get("normal")!;
      const forKprobe = join(work, "kprobe-only.btf");
      await minCoreBtf(full, forKprobe, [objects[2]!]);
      expect((await runCiliumCheck(binary, full, forKprobe, [objects[2]!])).exitCode).toBe(0);
      const report = await runCiliumCheck(binary, full, forKprobe, objects);
      expect(report.exitCode).toBe(1);
      expect(report.differences).toContain(
        `${objects[0]} tcp_rcv CORERelocation(byte_off, Struct:"tcp_sock"[0:1], local_id=6): full BTF gives byte_off=48->48, minified gives byte_off=poison`,
      );
    });
  },
);
