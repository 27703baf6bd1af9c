// index/uname.json: from a kernel release alone to every key that carries it.
import { describe, expect, it } from "vitest";
import type { CdnKernel } from "../../site/cdn-manifest.ts";
import { unameIndexSchemaVersion } from "../../site/cdn-manifest.ts";
import { buildUnameIndex } from "../../site/publish-uname-index.ts";

// Only the fields the index reads.
const kernel = (key: string, status: CdnKernel["status"]) =>
  ({ key, kernel: key.split("/").at(-1)!, status }) as CdnKernel;

describe("buildUnameIndex", () => {
  it("groups keys by uname -r, sorted, each with its status, under sorted releases", () => {
    const index = buildUnameIndex([
      kernel("ubuntu/20.04/x86_64/5.8.0-63-generic", "ok"),
      kernel("debian/12/x86_64/6.1.0-47-cloud-amd64", "failed"),
      kernel("ubuntu/18.04/x86_64/5.8.0-63-generic", "ok"),
      kernel("ubuntu/20.04/arm64/5.8.0-63-generic", "skipped"),
    ]);
    expect(index).toEqual({
      schemaVersion: unameIndexSchemaVersion,
      kernels: {
        "5.8.0-63-generic": [
          { key: "ubuntu/18.04/x86_64/5.8.0-63-generic", status: "ok" },
          { key: "ubuntu/20.04/arm64/5.8.0-63-generic", status: "skipped" },
          { key: "ubuntu/20.04/x86_64/5.8.0-63-generic", status: "ok" },
        ],
        "6.1.0-47-cloud-amd64": [{ key: "debian/12/x86_64/6.1.0-47-cloud-amd64", status: "failed" }],
      },
    });
    expect(Object.keys(index.kernels)).toEqual(["5.8.0-63-generic", "6.1.0-47-cloud-amd64"]);
  });

  it("gives the same index whatever order the kernels come in, and an empty one for none", () => {
    const kernels = [kernel("b/1/x86_64/k1", "ok"), kernel("a/1/x86_64/k1", "ok"), kernel("a/1/x86_64/k0", "ok")];
    expect(JSON.stringify(buildUnameIndex(kernels))).toBe(JSON.stringify(buildUnameIndex([...kernels].reverse())));
    expect(buildUnameIndex([]).kernels).toEqual({});
  });
});
