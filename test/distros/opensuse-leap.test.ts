// openSUSE Leap's layout: the debug twins of the release's oss repository and of its updates, and
// from 15.3 on the sle update repository; kernels `kernel-<flavor>-debuginfo`, named as SUSE's
// uname -r, with the vmlinux under boot/.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import { OpenSuseLeapSource } from "../../distros/opensuse-leap.ts";
import type { SourceConfig } from "../../distros/types.ts";
import { emptyRepositories, readLayout } from "../helpers/rpm-layout.ts";

const leap = (release: string, arch: SourceConfig["arch"], mirror = "http://127.0.0.1:1") =>
  new OpenSuseLeapSource({ distro: "opensuse-leap", release, arch, insecure: true, mirror: [mirror] });

describe("openSUSE Leap source", () => {
  it("reads the sle update repository from 15.3 on, not before", async () => {
    const withSle = [
      "debug/distribution/leap/15.6/repo/oss",
      "debug/update/leap/15.6/oss",
      "debug/update/leap/15.6/sle",
    ];
    expect((await readLayout(emptyRepositories(withSle), (mirror) => leap("15.6", "arm64", mirror))).read).toEqual(
      withSle,
    );
    const withoutSle = ["debug/distribution/leap/15.2/repo/oss", "debug/update/leap/15.2/oss"];
    expect((await readLayout(emptyRepositories(withoutSle), (mirror) => leap("15.2", "x86_64", mirror))).read).toEqual(
      withoutSle,
    );
  });

  it("names each flavor's kernel as SUSE's uname -r, skips the -base subpackage, and finds the vmlinux under boot/", async () => {
    const { packages } = await readLayout(
      {
        "debug/distribution/leap/15.5/repo/oss": [],
        "debug/update/leap/15.5/oss": [],
        "debug/update/leap/15.5/sle": [
          { name: "kernel-default-debuginfo", version: "5.14.21", release: "150500.55.39.1" },
          { name: "kernel-default-base-debuginfo", version: "5.14.21", release: "150500.55.39.1" },
          { name: "kernel-64kb-debuginfo", version: "5.14.21", release: "150500.55.39.1" },
        ],
      },
      (mirror) => leap("15.5", "x86_64", mirror),
    );
    expect(packages.map(({ key, flavor, vmlinuxPath }) => `${flavor} ${key.kernel} ${vmlinuxPath}`)).toEqual([
      "64kb 5.14.21-150500.55.39-64kb usr/lib/debug/boot/vmlinux-5.14.21-150500.55.39-64kb.debug",
      "default 5.14.21-150500.55.39-default usr/lib/debug/boot/vmlinux-5.14.21-150500.55.39-default.debug",
    ]);
  });

  it("refuses a release that is not major.minor", async () => {
    for (const release of ["15", "tumbleweed", "15.5.1"])
      await expect(leap(release, "x86_64").discover()).rejects.toThrow(ConfigError);
  });
});
