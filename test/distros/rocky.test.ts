// Rocky Linux's layout: the BaseOS debug tree under pub/rocky/<major> for the current minor
// release, under vault/rocky/<major.minor> for the older ones.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import { RockySource } from "../../distros/rocky.ts";
import type { SourceConfig } from "../../distros/types.ts";
import { emptyRepositories, readLayout } from "../helpers/rpm-layout.ts";

const rocky = (release: string, arch: SourceConfig["arch"], mirror = "http://127.0.0.1:1") =>
  new RockySource({ distro: "rocky", release, arch, insecure: true, mirror: [mirror] });

describe("Rocky Linux source", () => {
  it("reads the BaseOS debug tree of a major or a minor release, per arch", async () => {
    expect(
      (await readLayout(emptyRepositories(["9/BaseOS/x86_64/debug/tree"]), (mirror) => rocky("9", "x86_64", mirror)))
        .read,
    ).toEqual(["9/BaseOS/x86_64/debug/tree"]);
    expect(
      (
        await readLayout(emptyRepositories(["8.6/BaseOS/aarch64/debug/tree"]), (mirror) =>
          rocky("8.6", "arm64", mirror),
        )
      ).read,
    ).toEqual(["8.6/BaseOS/aarch64/debug/tree"]);
  });

  it("keeps kernel-debuginfo as flavor default with the RH vmlinux path", async () => {
    const { packages } = await readLayout(
      { "9.2/BaseOS/x86_64/debug/tree": [{ version: "5.14.0", release: "284.11.1.el9_2" }] },
      (mirror) => rocky("9.2", "x86_64", mirror),
    );
    expect(packages.map(({ key, flavor, vmlinuxPath }) => `${flavor} ${key.kernel} ${vmlinuxPath}`)).toEqual([
      "default 5.14.0-284.11.1.el9_2.x86_64 usr/lib/debug/lib/modules/5.14.0-284.11.1.el9_2.x86_64/vmlinux",
    ]);
  });

  it("refuses a release that is not major or major.minor", async () => {
    for (const release of ["9.2.1", "green-obsidian", ""])
      await expect(rocky(release, "x86_64").discover()).rejects.toThrow(ConfigError);
  });
});
