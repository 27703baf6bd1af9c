// The registry of distro sources, keyed by os-release ID.
import { ConfigError } from "../archive/errors.ts";
import { AlmaLinuxSource } from "./almalinux.ts";
import { AmazonLinuxSource } from "./amzn.ts";
import { CentosSource } from "./centos.ts";
import { DebianSource } from "./debian.ts";
import { FedoraSource } from "./fedora.ts";
import { OracleLinuxSource } from "./ol.ts";
import { OpenSuseLeapSource } from "./opensuse-leap.ts";
import { RhelSource } from "./rhel.ts";
import { RockySource } from "./rocky.ts";
import type { DistroSource, SourceConfig } from "./types.ts";
import { UbuntuSource } from "./ubuntu.ts";

const sources: Record<string, (config: SourceConfig) => DistroSource> = {
  debian: (config) => new DebianSource(config),
  fedora: (config) => new FedoraSource(config),
  centos: (config) => new CentosSource(config),
  rocky: (config) => new RockySource(config),
  almalinux: (config) => new AlmaLinuxSource(config),
  ol: (config) => new OracleLinuxSource(config),
  amzn: (config) => new AmazonLinuxSource(config),
  "opensuse-leap": (config) => new OpenSuseLeapSource(config),
  rhel: (config) => new RhelSource(config),
  ubuntu: (config) => new UbuntuSource(config),
};

/** The os-release IDs btfmill can read. */
export const supportedDistros = Object.keys(sources);

/** When a run starts: the source object for one config entry. */
export function createSource(config: SourceConfig): DistroSource {
  const create = sources[config.distro];
  if (!create) {
    throw new ConfigError(`distro "${config.distro}" is not supported`, {
      hint: `use one of: ${supportedDistros.join(", ")}`,
    });
  }
  return create(config);
}

export type { DistroSource, KernelPackage, SourceConfig } from "./types.ts";
export { keyPath, sourceId, type Arch, type KernelKey } from "../archive/kernel-key.ts";
