// AlmaLinux: `kernel-debuginfo` in the BaseOS debug repository on vault.almalinux.org, by major
// (`9`) or minor (`9.2`) release, as AlmaLinux's own .repo files name it.
import { RpmFamilySource, unknownRelease } from "./rpm-family.ts";
import type { RpmArch, RpmRepositorySpec } from "./rpm-family.ts";

/** The registry creates one per `almalinux` entry of the config's sources. */
export class AlmaLinuxSource extends RpmFamilySource {
  protected defaultMirrors(): readonly string[] {
    return ["https://vault.almalinux.org"];
  }

  protected repositories(release: string, arch: RpmArch): RpmRepositorySpec[] {
    if (!/^\d+(?:\.\d+)?$/.test(release)) throw unknownRelease(this.config, "AlmaLinux's releases (8, 9, 9.2, ...)");
    return [{ path: `${release}/BaseOS/debug/${arch}`, origin: "BaseOS-debug" }];
  }
}
