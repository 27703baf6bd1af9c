import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBtf } from "../../../archive/btf/load.ts";
import { ToolError } from "../../../archive/errors.ts";
import { bpftoolParses, minCoreBtf } from "../../../pipeline/tools/bpftool.ts";
import { bpftoolUnmatched } from "../../helpers/bpftool-unmatched.ts";
import { bpfFixtures, makeCoreObject, makeKernelBtf } from "../../fixtures/bpf-objects.ts";
import { bpftoolDump, dumpLikeBpftool } from "../../helpers/btf-dump.ts";
import { rejection } from "../../helpers/rejection.ts";

let dir: string;
let objects: string[];
let normal: string;
let renamed: string;
let ambiguous: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "btfmill-bpftool-"));
  objects = await Promise.all(bpfFixtures.map((fixture) => makeCoreObject(dir, fixture)));
  normal = await makeKernelBtf(dir, "normal");
  renamed = await makeKernelBtf(dir, "renamed");
  ambiguous = await makeKernelBtf(dir, "ambiguous");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("minCoreBtf", () => {
  it("keeps only what the tcprtt relocation touches, and the output parses with our reader and with bpftool", async () => {
    const out = join(dir, "tcprtt.min.btf");
    await minCoreBtf(normal, out, [objects[0]!]);
    const spec = await loadBtf(out);
    const tcpSock = spec.types.find((type) => type.kind === "STRUCT" && type.name === "tcp_sock");
    expect(tcpSock?.kind === "STRUCT" && tcpSock.members.map((member) => member.name).filter(Boolean)).toEqual([
      "srtt_us",
    ]);
    expect(spec.types.some((type) => type.name === "task_struct")).toBe(false);
    await bpftoolParses(out, { kernel: "fixture/normal" });
    expect(dumpLikeBpftool(spec)).toEqual(await bpftoolDump(out));
  });

  it("gives the same bytes when the minified BTF is minified again for the same objects", async () => {
    const once = join(dir, "all.min.btf");
    const twice = join(dir, "all.min.min.btf");
    await minCoreBtf(normal, once, objects);
    await minCoreBtf(once, twice, objects);
    expect(await readFile(twice)).toEqual(await readFile(once));
  });

  it("gives the same bytes whatever the order of the objects", async () => {
    const forward = join(dir, "forward.btf");
    const backward = join(dir, "backward.btf");
    await minCoreBtf(normal, forward, objects);
    await minCoreBtf(normal, backward, [...objects].reverse());
    expect(await readFile(backward)).toEqual(await readFile(forward));
  });

  it("fails with a ToolError that quotes libbpf when a member offset is ambiguous", async () => {
    const error = await rejection(
      minCoreBtf(ambiguous, join(dir, "ambiguous.btf"), [objects[0]!], { kernel: "fixture/ambiguous" }),
    );
    expect(error).toBeInstanceOf(ToolError);
    expect((error as ToolError).exitCode).not.toBe(0);
    expect(error.message).toMatch(/field offset ambiguity: 32 != 384/);
    expect((error as ToolError).kernel).toBe("fixture/ambiguous");
  });

  it("fails with a ToolError naming the input that is not BTF", async () => {
    const notBtf = new URL("../../fixtures/bpf/tcprtt.c", import.meta.url).pathname;
    const error = await rejection(minCoreBtf(notBtf, join(dir, "x.btf"), objects));
    expect(error).toBeInstanceOf(ToolError);
    expect(error.message).toContain(`failed parsing '${notBtf}' BTF file`);
  });
});

describe("bpftoolUnmatched", () => {
  it("returns the relocations bpftool -d could not match, per object, with libbpf's spec text", async () => {
    const unmatched = await bpftoolUnmatched(renamed, [objects[0]!, objects[2]!]);
    expect(unmatched).toEqual([
      {
        object: objects[0],
        section: "fentry/tcp_rcv_established",
        index: 0,
        spec: expect.stringMatching(/^<byte_off> \[\d+\] struct tcp_sock\.srtt_us \(0:1 @ offset \d+\)$/),
      },
    ]);
  });

  it("returns nothing when every relocation matches", async () => {
    expect(await bpftoolUnmatched(normal, [objects[0]!, objects[1]!, objects[2]!])).toEqual([]);
  });
});
