// Which payload members are the debug files of the selected modules, named as lsmod names them.
import { describe, expect, it } from "vitest";
import { ModuleMembers, moduleName } from "../../../distros/packages/module-members.ts";

const kernel = "6.1.0-47-cloud-amd64";
const dir = "/scratch/modules";
const debianPath = (path: string) => `usr/lib/debug/lib/modules/${kernel}/kernel/${path}`;

describe("moduleName", () => {
  it("spells a module name as lsmod does, dashes as underscores", () => {
    expect(moduleName("nf-nat")).toBe("nf_nat");
    expect(moduleName("nf_conntrack")).toBe("nf_conntrack");
  });
});

describe("ModuleMembers", () => {
  it("claims a selected module's .ko (Debian) or .ko.debug (RPM) under its lsmod name, either spelling selecting it", () => {
    const members = new ModuleMembers({ kernel, select: ["nf-conntrack", "xfs"], dir });
    expect(members.claim(debianPath("net/netfilter/nf_conntrack.ko"))).toEqual({
      name: "nf_conntrack",
      output: `${dir}/nf_conntrack.ko`,
    });
    expect(members.claim(debianPath("fs/xfs/xfs.ko.debug"))).toEqual({ name: "xfs", output: `${dir}/xfs.ko` });
  });

  it("claims nothing outside this kernel's module tree, nothing unselected, and no path that climbs out", () => {
    const members = new ModuleMembers({ kernel, select: ["xfs"], dir });
    expect(members.claim("usr/lib/debug/lib/modules/6.1.0-46-cloud-amd64/kernel/fs/xfs/xfs.ko")).toBeUndefined();
    expect(members.claim(debianPath("fs/ext4/ext4.ko"))).toBeUndefined();
    expect(members.claim(debianPath("../../../../../etc/xfs.ko"))).toBeUndefined();
    expect(members.claim(debianPath("fs/xfs/xfs.ko.sig"))).toBeUndefined();
    expect(members.claim(`usr/lib/debug/boot/vmlinux-${kernel}`)).toBeUndefined();
  });

  it("claims a module once: a second member of the same name is passed over", () => {
    const members = new ModuleMembers({ kernel, select: ["xfs"], dir });
    const claimed = members.claim(debianPath("fs/xfs/xfs.ko"))!;
    members.add({ ...claimed, path: claimed.output, bytes: 25 });
    expect(members.claim(debianPath("extra/xfs.ko"))).toBeUndefined();
  });

  it("is complete once every selected module is out, and names those the package lacks", () => {
    const members = new ModuleMembers({ kernel, select: ["xfs", "nf_conntrack", "zz_absent"], dir });
    for (const path of ["fs/xfs/xfs.ko", "net/netfilter/nf_conntrack.ko"]) {
      const claimed = members.claim(debianPath(path))!;
      members.add({ ...claimed, path: claimed.output, bytes: 1 });
    }
    expect(members.complete).toBe(false);
    expect(members.missing()).toEqual(["zz_absent"]);
    expect(members.extracted().map((module) => module.name)).toEqual(["nf_conntrack", "xfs"]);
    const two = new ModuleMembers({ kernel, select: ["xfs"], dir });
    two.add({ name: "xfs", path: `${dir}/xfs.ko`, bytes: 1 });
    expect(two.complete).toBe(true);
  });

  it('with "all", claims every module, is never complete (the payload\'s end decides) and misses none', () => {
    const members = new ModuleMembers({ kernel, select: "all", dir });
    expect(members.claim(debianPath("fs/ext4/ext4.ko"))?.name).toBe("ext4");
    members.add({ name: "ext4", path: `${dir}/ext4.ko`, bytes: 1 });
    expect(members.complete).toBe(false);
    expect(members.missing()).toEqual([]);
  });
});
