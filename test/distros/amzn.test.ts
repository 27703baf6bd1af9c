// Amazon Linux's layout: every repository behind a mirror.list; Amazon Linux 2 has core and the
// kernel-5.x extras, Amazon Linux 2023 one core repository.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import { AmazonLinuxSource } from "../../distros/amzn.ts";
import type { SourceConfig } from "../../distros/types.ts";
import { emptyRepositories, readLayout } from "../helpers/rpm-layout.ts";

const amzn = (release: string, arch: SourceConfig["arch"], mirror = "http://127.0.0.1:1") =>
  new AmazonLinuxSource({ distro: "amzn", release, arch, insecure: true, mirror: [mirror] });

describe("Amazon Linux source", () => {
  it("reads Amazon Linux 2's core and kernel-5.x extras through their mirror lists", async () => {
    const lists = [
      "2/core/latest/debuginfo/aarch64/mirror.list",
      "2/extras/kernel-5.10/latest/debuginfo/aarch64/mirror.list",
      "2/extras/kernel-5.15/latest/debuginfo/aarch64/mirror.list",
      "2/extras/kernel-5.4/latest/debuginfo/aarch64/mirror.list",
    ];
    expect((await readLayout(emptyRepositories(lists), (mirror) => amzn("2", "arm64", mirror))).read).toEqual(lists);
  });

  it("reads Amazon Linux 2023's one core repository, its kernels named as uname -r", async () => {
    const { read, packages } = await readLayout(
      {
        "al2023/core/mirrors/latest/debuginfo/x86_64/mirror.list": [{ version: "6.1.55", release: "75.123.amzn2023" }],
      },
      (mirror) => amzn("2023", "x86_64", mirror),
    );
    expect(read).toEqual(["al2023/core/mirrors/latest/debuginfo/x86_64/mirror.list"]);
    expect(
      packages.map(({ key, flavor, origin, vmlinuxPath }) => `${flavor} ${key.kernel} ${origin} ${vmlinuxPath}`),
    ).toEqual([
      "default 6.1.55-75.123.amzn2023.x86_64 core usr/lib/debug/lib/modules/6.1.55-75.123.amzn2023.x86_64/vmlinux",
    ]);
  });

  it("refuses a release Amazon Linux never had", async () => {
    for (const release of ["1", "2022", "2.0"])
      await expect(amzn(release, "x86_64").discover()).rejects.toThrow(ConfigError);
  });
});
