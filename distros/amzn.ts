// Amazon Linux: repositories are named by a mirror.list each. Amazon Linux 2 ships its 4.14
// kernels in core and the newer lines in the kernel-5.x extras; Amazon Linux 2023 has one core
// repository. Amazon signs packages, not repomd.xml: a source needs `insecure: true`.
import { RpmFamilySource, unknownRelease } from "./rpm-family.ts";
import type { RpmArch, RpmRepositorySpec } from "./rpm-family.ts";

const amazonLinux2Extras = ["kernel-5.4", "kernel-5.10", "kernel-5.15"];

/** The registry creates one per `amzn` entry of the config's sources. */
export class AmazonLinuxSource extends RpmFamilySource {
  protected defaultMirrors(release: string): readonly string[] {
    return release === "2" ? ["http://amazonlinux.us-east-1.amazonaws.com"] : ["https://cdn.amazonlinux.com"];
  }

  protected repositories(release: string, arch: RpmArch): RpmRepositorySpec[] {
    switch (release) {
      case "2":
        return [
          { path: `2/core/latest/debuginfo/${arch}/mirror.list`, origin: "core", mirrorList: true },
          ...amazonLinux2Extras.map((extra) => ({
            path: `2/extras/${extra}/latest/debuginfo/${arch}/mirror.list`,
            origin: `extras/${extra}`,
            mirrorList: true,
          })),
        ];
      case "2023":
        return [{ path: `al2023/core/mirrors/latest/debuginfo/${arch}/mirror.list`, origin: "core", mirrorList: true }];
      default:
        throw unknownRelease(this.config, "2, 2023");
    }
  }
}
