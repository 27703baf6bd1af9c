// Oracle Linux: one flat debuginfo repository per major release on oss.oracle.com, all arches
// together, with two kernel families that are ordered and limited apart: UEK
// (`kernel-uek-debuginfo`, `4.14.35-2047.502.5.el7uek.x86_64`) and the Red Hat compatible kernel
// (`kernel-debuginfo`, `3.10.0-1160.el7.x86_64`), as flavors `uek` and `rhck`.
import { RpmFamilySource, unknownRelease } from "./rpm-family.ts";
import type { RpmRepositorySpec } from "./rpm-family.ts";

const flavors: Readonly<Record<string, string>> = { "kernel-uek-debuginfo": "uek", "kernel-debuginfo": "rhck" };

/** The registry creates one per `ol` entry of the config's sources. */
export class OracleLinuxSource extends RpmFamilySource {
  protected defaultMirrors(): readonly string[] {
    return ["https://oss.oracle.com"];
  }

  protected repositories(release: string): RpmRepositorySpec[] {
    if (!/^\d+$/.test(release)) throw unknownRelease(this.config, "Oracle Linux's major releases (7, 8, 9)");
    return [{ path: `ol${release}/debuginfo`, origin: "debuginfo" }];
  }

  // Two families instead of the RH family's one `kernel-debuginfo`.
  protected override flavorOf(name: string): string | undefined {
    return flavors[name];
  }
}
