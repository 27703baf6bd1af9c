// openSUSE Leap: `kernel-<flavor>-debuginfo` in the debug twins of the release's oss repository
// and of its updates; from 15.3 on, kernel updates come from SUSE Linux Enterprise, in the sle
// update repository. openSUSE signs repomd.xml (repomd.xml.key beside it is the key).
import type { PrimaryPackage } from "./repos/primary.ts";
import { RpmFamilySource, unknownRelease } from "./rpm-family.ts";
import type { RpmRepositorySpec } from "./rpm-family.ts";

// `kernel-default-debuginfo`, `kernel-azure-debuginfo`, `kernel-64kb-debuginfo`; not
// `kernel-default-base-debuginfo`, a subpackage without the vmlinux.
const kernelPackage = /^kernel-([a-z0-9]+)-debuginfo$/;

/** The registry creates one per `opensuse-leap` entry of the config's sources. */
export class OpenSuseLeapSource extends RpmFamilySource {
  protected defaultMirrors(): readonly string[] {
    return ["https://download.opensuse.org"];
  }

  protected repositories(release: string): RpmRepositorySpec[] {
    const match = /^(\d+)\.(\d+)$/.exec(release);
    if (match === null) throw unknownRelease(this.config, "Leap's releases (15.5, 15.6, ...)");
    const fromSle = Number(match[1]) === 15 && Number(match[2]) >= 3;
    return [
      { path: `debug/distribution/leap/${release}/repo/oss`, origin: "distribution/oss" },
      { path: `debug/update/leap/${release}/oss`, origin: "update/oss" },
      ...(fromSle ? [{ path: `debug/update/leap/${release}/sle`, origin: "update/sle" }] : []),
    ];
  }

  // One package per flavor, named for it.
  protected override flavorOf(name: string): string | undefined {
    return kernelPackage.exec(name)?.[1];
  }

  // SUSE's kernel release drops the package release's last part (the rebuild counter) and adds
  // the flavor: kernel-default-debuginfo 5.14.21-150500.55.39.1 is `5.14.21-150500.55.39-default`.
  protected override kernelRelease(pkg: PrimaryPackage, flavor: string): string {
    const release = pkg.release.includes(".") ? pkg.release.slice(0, pkg.release.lastIndexOf(".")) : pkg.release;
    return `${pkg.version}-${release}-${flavor}`;
  }

  protected override vmlinuxPath(kernel: string): string {
    return `usr/lib/debug/boot/vmlinux-${kernel}.debug`;
  }
}
