// RHEL: its debug repositories need a subscription, so there is no public mirror. `mirror` names
// the debug repository itself (a reposync of rhel-8-for-x86_64-baseos-debug-rpms, say), and
// `suites` may name several repositories under it.
import { RpmFamilySource } from "./rpm-family.ts";
import type { RpmRepositorySpec } from "./rpm-family.ts";

/** The registry creates one per `rhel` entry of the config's sources. */
export class RhelSource extends RpmFamilySource {
  protected defaultMirrors(): readonly string[] {
    return [];
  }

  protected repositories(): RpmRepositorySpec[] {
    return [{ path: "", origin: "debug" }];
  }
}
