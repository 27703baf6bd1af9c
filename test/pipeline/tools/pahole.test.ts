// pahole as the convert stage runs it: the thread count "auto" gives leaves out the cores this
// run's other pahole conversions hold, and gives them back when they end, failed or not.
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freeCores, runPahole } from "../../../pipeline/tools/pahole.ts";
import { makeVmlinux } from "../../fixtures/vmlinux.ts";
import { rejection } from "../../helpers/rejection.ts";

let work: string;
let vmlinux: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-pahole-"));
  vmlinux = await makeVmlinux(join(work, "vmlinux"));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("freeCores", () => {
  it("gives every core when no pahole of this process runs, one fewer for each that does", async () => {
    const cores = availableParallelism();
    expect(freeCores()).toBe(cores);
    const first = runPahole(vmlinux, join(work, "one.btf"), [], { kernel: "test/1/x86_64/one" });
    const second = runPahole(vmlinux, join(work, "two.btf"), [], { kernel: "test/1/x86_64/two" });
    expect(freeCores()).toBe(Math.max(1, cores - 2));
    await Promise.all([first, second]);
    expect(freeCores()).toBe(cores);
  });

  it("gives the cores back when a pahole run fails", async () => {
    const cores = availableParallelism();
    const failing = runPahole(join(work, "absent"), join(work, "none.btf"), [], { kernel: "test/1/x86_64/absent" });
    expect(freeCores()).toBe(Math.max(1, cores - 1));
    await rejection(failing);
    expect(freeCores()).toBe(cores);
  });
});
