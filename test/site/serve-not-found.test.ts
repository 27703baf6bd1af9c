// The 404 serve gives for a kernel path, from the tree's own manifest.json and index/uname.json:
// failed, has its own BTF, no file for the set, or unknown with where that uname -r is published.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnManifestName, unameIndexName } from "../../site/cdn-layout.ts";
import { explainMissingKernel } from "../../site/serve-not-found.ts";

let work: string;
let tree: string;
const ok = "ubuntu/20.04/x86_64/5.8.0-63-generic";
const failed = "debian/12/x86_64/6.1.0-47-cloud-amd64";
const hasBtf = "ubuntu/22.04/x86_64/5.15.0-91-generic";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-serve-404-"));
  tree = join(work, "tree");
  // The fields of a published manifest and uname index the explanation reads.
  const manifest = {
    sets: [{ name: "all" }, { name: "net" }, { name: "proc" }],
    kernels: [
      {
        key: ok,
        status: "ok",
        kernelHasBtf: false,
        coverage: { all: {}, proc: { error: "bpftool: exited with 255" } },
      },
      { key: failed, status: "failed", reason: "no vmlinux in the package", kernelHasBtf: false, coverage: {} },
      { key: hasBtf, status: "skipped", kernelHasBtf: true, coverage: {} },
    ],
  };
  const uname = {
    schemaVersion: 1,
    kernels: {
      "5.8.0-63-generic": [
        { key: "ubuntu/18.04/x86_64/5.8.0-63-generic", status: "ok" },
        { key: ok, status: "ok" },
      ],
    },
  };
  await mkdir(join(tree, unameIndexName, ".."), { recursive: true });
  await writeFile(join(tree, cdnManifestName), JSON.stringify(manifest));
  await writeFile(join(tree, unameIndexName), JSON.stringify(uname));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("explainMissingKernel", () => {
  it("says a kernel failed, with the reason the manifest gives", async () => {
    expect(await explainMissingKernel(tree, failed, "all")).toMatchObject({
      error: "kernel failed",
      key: failed,
      reason: "no vmlinux in the package",
    });
  });

  it("says a kernel that ships its own BTF needs no file", async () => {
    expect(await explainMissingKernel(tree, hasBtf, "net")).toMatchObject({
      error: "kernel has BTF",
      hint: expect.stringContaining("/sys/kernel/btf/vmlinux"),
    });
  });

  it("says why a known kernel has no file for a set: the set's error, else the sets there are", async () => {
    expect(await explainMissingKernel(tree, ok, "proc")).toMatchObject({
      error: "no file for set",
      hint: "bpftool: exited with 255",
    });
    expect((await explainMissingKernel(tree, ok, "absent")).hint).toBe(
      'set "absent" has no file for this kernel; sets: all, net, proc',
    );
  });

  it("names where an unknown key's uname -r is published, under the set's prefix", async () => {
    const root = await explainMissingKernel(tree, "ubuntu/21.04/x86_64/5.8.0-63-generic", "all");
    expect(root).toEqual({
      error: "unknown kernel",
      key: "ubuntu/21.04/x86_64/5.8.0-63-generic",
      set: "all",
      candidates: ["ubuntu/18.04/x86_64/5.8.0-63-generic", ok],
      hint: `no ubuntu/21.04/x86_64/5.8.0-63-generic; uname -r 5.8.0-63-generic is published as /ubuntu/18.04/x86_64/5.8.0-63-generic.btf, /${ok}.btf`,
    });
    const net = await explainMissingKernel(tree, "ubuntu/21.04/x86_64/5.8.0-63-generic", "net");
    expect(net.hint).toContain(`/sets/net/${ok}.btf`);
  });

  it("says no kernel of that uname -r is published, with no candidates, and copes with a tree lacking its JSON", async () => {
    const unknown = await explainMissingKernel(tree, "debian/12/x86_64/9.9.9-1-amd64", "all");
    expect(unknown.error).toBe("unknown kernel");
    expect(unknown.candidates).toBeUndefined();
    expect(unknown.hint).toBe(
      "no kernel 9.9.9-1-amd64 is published; /manifest.json names each source's list of kernels, /index/uname.json every uname -r",
    );
    expect((await explainMissingKernel(join(work, "empty"), ok, "all")).error).toBe("unknown kernel");
  });
});
