// CentOS's layouts: flat per-arch repositories on debuginfo.centos.org for 7 and 8 (with Stream 8
// beside 8), the BaseOS debug tree of mirror.stream.centos.org for Stream 9 and 10.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import { CentosSource } from "../../distros/centos.ts";
import type { SourceConfig } from "../../distros/types.ts";
import { emptyRepositories, readLayout } from "../helpers/rpm-layout.ts";

const centos = (release: string, arch: SourceConfig["arch"], mirror = "http://127.0.0.1:1") =>
  new CentosSource({ distro: "centos", release, arch, insecure: true, mirror: [mirror] });
const read = async (paths: string[], release: string, arch: SourceConfig["arch"]) =>
  (await readLayout(emptyRepositories(paths), (mirror) => centos(release, arch, mirror))).read;

describe("CentOS source", () => {
  it("reads CentOS 7's flat repository of the arch", async () => {
    expect(await read(["7/x86_64"], "7", "x86_64")).toEqual(["7/x86_64"]);
    expect(await read(["7/aarch64"], "7", "arm64")).toEqual(["7/aarch64"]);
  });

  it("reads CentOS 8 and Stream 8 together for release 8", async () => {
    expect(await read(["8-stream/aarch64", "8/aarch64"], "8", "arm64")).toEqual(["8-stream/aarch64", "8/aarch64"]);
  });

  it("reads the BaseOS debug tree for Stream 9 and 10", async () => {
    expect(await read(["9-stream/BaseOS/x86_64/debug/tree"], "9", "x86_64")).toEqual([
      "9-stream/BaseOS/x86_64/debug/tree",
    ]);
    expect(await read(["10-stream/BaseOS/aarch64/debug/tree"], "10", "arm64")).toEqual([
      "10-stream/BaseOS/aarch64/debug/tree",
    ]);
  });

  it("keeps kernel-debuginfo of the arch as flavor default, with the RH vmlinux path", async () => {
    const { packages } = await readLayout(
      {
        "9-stream/BaseOS/aarch64/debug/tree": [
          { version: "5.14.0", release: "427.el9", arch: "aarch64" },
          { version: "5.14.0", release: "428.el9" },
        ],
      },
      (mirror) => centos("9", "arm64", mirror),
    );
    expect(
      packages.map(({ key, flavor, vmlinuxPath }) => `${flavor} ${key.arch} ${key.kernel} ${vmlinuxPath}`),
    ).toEqual(["default arm64 5.14.0-427.el9.aarch64 usr/lib/debug/lib/modules/5.14.0-427.el9.aarch64/vmlinux"]);
  });

  it("refuses a release CentOS never had", async () => {
    for (const release of ["6", "8.2", "stream"])
      await expect(centos(release, "x86_64").discover()).rejects.toThrow(ConfigError);
  });
});
