// Fedora: `kernel-debuginfo` in the debug trees of a release and of its updates. Current releases
// are on dl.fedoraproject.org, those past their end of life on archives.fedoraproject.org, under
// the same paths; each repository is read from the first host that has it. Fedora signs packages,
// not repomd.xml: a source needs `insecure: true` unless its mirror signs the metadata.
import { RpmFamilySource, unknownRelease } from "./rpm-family.ts";
import type { RpmArch, RpmRepositorySpec } from "./rpm-family.ts";

/** The registry creates one per `fedora` entry of the config's sources. */
export class FedoraSource extends RpmFamilySource {
  protected defaultMirrors(): readonly string[] {
    return [
      "https://dl.fedoraproject.org/pub/fedora/linux",
      "https://archives.fedoraproject.org/pub/archive/fedora/linux",
    ];
  }

  protected repositories(release: string, arch: RpmArch): RpmRepositorySpec[] {
    if (!/^\d+$/.test(release)) throw unknownRelease(this.config, "Fedora's release numbers (31, 39, ...)");
    return [
      { path: `releases/${release}/Everything/${arch}/debug/tree`, origin: "releases" },
      { path: `updates/${release}/Everything/${arch}/debug`, origin: "updates" },
    ];
  }
}
