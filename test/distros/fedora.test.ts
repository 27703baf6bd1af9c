// Fedora's layout: the debug tree of a release and the debug repository of its updates, under
// pub/fedora/linux (current) or pub/archive/fedora/linux (past end of life), per arch.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import { FedoraSource } from "../../distros/fedora.ts";
import type { SourceConfig } from "../../distros/types.ts";
import { emptyRepositories, readLayout } from "../helpers/rpm-layout.ts";

// A refused release fails before any request; the mirror is one nothing listens on, all the same.
const fedora = (release: string, arch: SourceConfig["arch"], mirror = "http://127.0.0.1:1") =>
  new FedoraSource({ distro: "fedora", release, arch, insecure: true, mirror: [mirror] });

describe("Fedora source", () => {
  it("reads the release's debug tree and the updates' debug repository of the arch", async () => {
    const x86 = ["releases/39/Everything/x86_64/debug/tree", "updates/39/Everything/x86_64/debug"];
    expect((await readLayout(emptyRepositories(x86), (mirror) => fedora("39", "x86_64", mirror))).read).toEqual(x86);
    const arm = ["releases/31/Everything/aarch64/debug/tree", "updates/31/Everything/aarch64/debug"];
    expect((await readLayout(emptyRepositories(arm), (mirror) => fedora("31", "arm64", mirror))).read).toEqual(arm);
  });

  it("names a kernel-debuginfo kernel by uname -r, flavor default, with its vmlinux in the debuginfo tree", async () => {
    const { packages } = await readLayout(
      {
        "releases/31/Everything/x86_64/debug/tree": [{ version: "5.3.7", release: "301.fc31" }],
        "updates/31/Everything/x86_64/debug": [
          { name: "kernel-debuginfo-common-x86_64", version: "5.8.18", release: "100.fc31" },
        ],
      },
      (mirror) => fedora("31", "x86_64", mirror),
    );
    expect(
      packages.map(({ key, flavor, origin, vmlinuxPath }) => ({ kernel: key.kernel, flavor, origin, vmlinuxPath })),
    ).toEqual([
      {
        kernel: "5.3.7-301.fc31.x86_64",
        flavor: "default",
        origin: "releases",
        vmlinuxPath: "usr/lib/debug/lib/modules/5.3.7-301.fc31.x86_64/vmlinux",
      },
    ]);
  });

  it("fails when the updates repository of the release is missing", async () => {
    await expect(
      readLayout(emptyRepositories(["releases/39/Everything/x86_64/debug/tree"]), (mirror) =>
        fedora("39", "x86_64", mirror),
      ),
    ).rejects.toThrow(
      /repository fedora 39 x86_64 updates was found on none of the mirrors tried: .*\/updates\/39\/Everything\/x86_64\/debug \(absent\)/,
    );
  });

  it("refuses a release that is not a Fedora release number", async () => {
    for (const release of ["rawhide", "39.1", ""])
      await expect(fedora(release, "x86_64").discover()).rejects.toThrow(ConfigError);
  });
});
