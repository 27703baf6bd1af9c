// Oracle Linux's layout: one flat debuginfo repository per major release, all arches in it, with
// the UEK and Red Hat compatible kernels as flavors uek and rhck.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import { OracleLinuxSource } from "../../distros/ol.ts";
import type { SourceConfig } from "../../distros/types.ts";
import { readLayout } from "../helpers/rpm-layout.ts";

const ol = (release: string, arch: SourceConfig["arch"], mirror = "http://127.0.0.1:1") =>
  new OracleLinuxSource({ distro: "ol", release, arch, insecure: true, mirror: [mirror] });

describe("Oracle Linux source", () => {
  it("reads ol<major>/debuginfo for any arch, keeping that arch's UEK and RHCK kernels apart", async () => {
    const { read, packages } = await readLayout(
      {
        "ol8/debuginfo": [
          { name: "kernel-uek-debuginfo", version: "5.15.0", release: "200.131.27.el8uek", arch: "aarch64" },
          { name: "kernel-uek-debuginfo", version: "5.15.0", release: "200.131.27.el8uek" },
          { version: "4.18.0", release: "513.5.1.el8_9", arch: "aarch64" },
          { name: "kernel-debuginfo-common-aarch64", version: "4.18.0", release: "513.5.1.el8_9", arch: "aarch64" },
        ],
      },
      (mirror) => ol("8", "arm64", mirror),
    );
    expect(read).toEqual(["ol8/debuginfo"]);
    expect(packages.map(({ key, flavor, vmlinuxPath }) => `${flavor} ${key.kernel} ${vmlinuxPath}`)).toEqual([
      "rhck 4.18.0-513.5.1.el8_9.aarch64 usr/lib/debug/lib/modules/4.18.0-513.5.1.el8_9.aarch64/vmlinux",
      "uek 5.15.0-200.131.27.el8uek.aarch64 usr/lib/debug/lib/modules/5.15.0-200.131.27.el8uek.aarch64/vmlinux",
    ]);
  });

  it("refuses a release that is not a major release number", async () => {
    for (const release of ["8.9", "ol8", ""])
      await expect(ol(release, "x86_64").discover()).rejects.toThrow(ConfigError);
  });
});
