// AlmaLinux's layout: <release>/BaseOS/debug/<arch> on vault.almalinux.org, by major or minor release.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import { AlmaLinuxSource } from "../../distros/almalinux.ts";
import type { SourceConfig } from "../../distros/types.ts";
import { emptyRepositories, readLayout } from "../helpers/rpm-layout.ts";

const alma = (release: string, arch: SourceConfig["arch"], mirror = "http://127.0.0.1:1") =>
  new AlmaLinuxSource({ distro: "almalinux", release, arch, insecure: true, mirror: [mirror] });

describe("AlmaLinux source", () => {
  it("reads BaseOS/debug/<arch> of a major or a minor release", async () => {
    expect(
      (await readLayout(emptyRepositories(["9/BaseOS/debug/aarch64"]), (mirror) => alma("9", "arm64", mirror))).read,
    ).toEqual(["9/BaseOS/debug/aarch64"]);
    expect(
      (await readLayout(emptyRepositories(["8.8/BaseOS/debug/x86_64"]), (mirror) => alma("8.8", "x86_64", mirror)))
        .read,
    ).toEqual(["8.8/BaseOS/debug/x86_64"]);
  });

  it("keeps kernel-debuginfo as flavor default with the RH vmlinux path", async () => {
    const { packages } = await readLayout(
      { "9/BaseOS/debug/x86_64": [{ version: "5.14.0", release: "70.13.1.el9_0" }] },
      (mirror) => alma("9", "x86_64", mirror),
    );
    expect(packages.map(({ key, flavor, vmlinuxPath }) => `${flavor} ${key.kernel} ${vmlinuxPath}`)).toEqual([
      "default 5.14.0-70.13.1.el9_0.x86_64 usr/lib/debug/lib/modules/5.14.0-70.13.1.el9_0.x86_64/vmlinux",
    ]);
  });

  it("refuses a release that is not major or major.minor", async () => {
    for (const release of ["9-beta", ""]) await expect(alma(release, "x86_64").discover()).rejects.toThrow(ConfigError);
  });
});
