// CentOS: `kernel-debuginfo` from debuginfo.centos.org for CentOS Linux 7 and 8 (flat
// repositories per arch; CentOS Stream 8, whose os-release also says 8, beside them), and from
// the BaseOS debug tree of mirror.stream.centos.org for CentOS Stream 9 and 10.
import { RpmFamilySource, unknownRelease } from "./rpm-family.ts";
import type { RpmArch, RpmRepositorySpec } from "./rpm-family.ts";

/** The registry creates one per `centos` entry of the config's sources. */
export class CentosSource extends RpmFamilySource {
  protected defaultMirrors(release: string): readonly string[] {
    return Number(release) >= 9 ? ["https://mirror.stream.centos.org"] : ["https://debuginfo.centos.org"];
  }

  protected repositories(release: string, arch: RpmArch): RpmRepositorySpec[] {
    switch (release) {
      case "7":
        return [{ path: `7/${arch}`, origin: "debuginfo" }];
      case "8":
        return [
          { path: `8/${arch}`, origin: "debuginfo" },
          { path: `8-stream/${arch}`, origin: "8-stream" },
        ];
      case "9":
      case "10":
        return [{ path: `${release}-stream/BaseOS/${arch}/debug/tree`, origin: "BaseOS-debug" }];
      default:
        throw unknownRelease(this.config, "7, 8, 9, 10");
    }
  }
}
