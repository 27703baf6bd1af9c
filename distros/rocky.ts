// Rocky Linux: `kernel-debuginfo` in the BaseOS debug tree. The current minor release of each
// major is under pub/rocky/<major>; the older minors move to vault/rocky/<major.minor>, so a
// release `9` reads the current one and a release `9.2` (an os-release VERSION_ID) its vault.
import { RpmFamilySource, unknownRelease } from "./rpm-family.ts";
import type { RpmArch, RpmRepositorySpec } from "./rpm-family.ts";

/** The registry creates one per `rocky` entry of the config's sources. */
export class RockySource extends RpmFamilySource {
  protected defaultMirrors(): readonly string[] {
    return ["https://dl.rockylinux.org/pub/rocky", "https://dl.rockylinux.org/vault/rocky"];
  }

  protected repositories(release: string, arch: RpmArch): RpmRepositorySpec[] {
    if (!/^\d+(?:\.\d+)?$/.test(release)) throw unknownRelease(this.config, "Rocky's releases (8, 9, 9.2, ...)");
    return [{ path: `${release}/BaseOS/${arch}/debug/tree`, origin: "BaseOS-debug" }];
  }
}
