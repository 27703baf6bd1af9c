// RHEL: no public mirror; the configured mirror is the debug repository itself, or `suites`
// names repositories under it.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import { RhelSource } from "../../distros/rhel.ts";
import { readLayout } from "../helpers/rpm-layout.ts";

describe("RHEL source", () => {
  it("reads the configured mirror as the repository, whatever the release", async () => {
    const { read, packages } = await readLayout(
      { "rhel-9-for-x86_64-baseos-debug-rpms": [{ version: "5.14.0", release: "362.8.1.el9_3" }] },
      (mirror) =>
        new RhelSource({
          distro: "rhel",
          release: "9",
          arch: "x86_64",
          insecure: true,
          mirror: [`${mirror}/rhel-9-for-x86_64-baseos-debug-rpms`],
        }),
    );
    expect(read).toEqual(["rhel-9-for-x86_64-baseos-debug-rpms"]);
    expect(
      packages.map(({ key, flavor, origin, vmlinuxPath }) => `${flavor} ${key.kernel} ${origin} ${vmlinuxPath}`),
    ).toEqual([
      "default 5.14.0-362.8.1.el9_3.x86_64 debug usr/lib/debug/lib/modules/5.14.0-362.8.1.el9_3.x86_64/vmlinux",
    ]);
  });

  it("reads the repositories `suites` names under the mirror", async () => {
    const suites = ["appstream-debug", "baseos-debug"];
    const { read } = await readLayout(
      { "appstream-debug": [], "baseos-debug": [] },
      (mirror) =>
        new RhelSource({ distro: "rhel", release: "8", arch: "arm64", insecure: true, mirror: [mirror], suites }),
    );
    expect(read).toEqual(suites);
  });

  it("asks for a mirror when none is configured", async () => {
    const error = await new RhelSource({ distro: "rhel", release: "9", arch: "x86_64", insecure: true })
      .discover()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).hint).toMatch(/set `mirror`/);
  });
});
