// Which modules gen fetches first for a kernel's missing types: those whose names match the types'
// names, so a site with thousands of modules serves the few an object reads.
import { describe, expect, it } from "vitest";
import { modulesNamedLike } from "../../site/gen-modules.ts";

const debianModules = ["kvm", "kvm_amd", "kvm_intel", "nf_conntrack", "nf_conntrack_ftp", "nf_nat", "nf_tables", "xfs"];

describe("modulesNamedLike", () => {
  it("picks the modules sharing the type's first word and the most leading words", () => {
    expect(modulesNamedLike(debianModules, ["nf_conn"])).toEqual(["nf_conntrack", "nf_conntrack_ftp"]);
    expect(modulesNamedLike(debianModules, ["xfs_inode", "xfs_dinode_fmt"])).toEqual(["xfs"]);
    expect(modulesNamedLike(debianModules, ["kvm_vcpu"])).toEqual(["kvm", "kvm_amd", "kvm_intel"]);
    expect(modulesNamedLike(debianModules, ["kvm_intel_ops"])).toEqual(["kvm_intel"]);
  });

  it("picks none for a type no module's name starts like, or an anonymous one", () => {
    expect(modulesNamedLike(debianModules, ["task_struct", ""])).toEqual([]);
    expect(modulesNamedLike([], ["nf_conn"])).toEqual([]);
  });

  it("answers the union over several types, sorted", () => {
    expect(modulesNamedLike(debianModules, ["xfs_inode", "nf_nat_range"])).toEqual(["nf_nat", "xfs"]);
  });
});
