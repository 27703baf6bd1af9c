// The registry of distro sources, keyed by os-release ID.
import { ConfigError } from "../pipeline/errors.ts";
import { DebianSource } from "./debian.ts";
import type { DistroSource, SourceConfig } from "./types.ts";

const sources: Record<string, (config: SourceConfig) => DistroSource> = {
  debian: (config) => new DebianSource(config),
};

/** The os-release IDs btfmill can read. */
export const supportedDistros = Object.keys(sources);

/** When a run starts: the source object for one config entry. */
export function createSource(config: SourceConfig): DistroSource {
  const create = sources[config.distro];
  if (!create) {
    throw new ConfigError(`distro "${config.distro}" is not supported`, { hint: `use one of: ${supportedDistros.join(", ")}` });
  }
  return create(config);
}

/** `debian/12/x86_64`: how a source is named in the manifest and in messages. */
export function sourceId(config: SourceConfig): string {
  return `${config.distro}/${config.release}/${config.arch}`;
}

export type { Arch, DistroSource, KernelKey, KernelPackage, SourceConfig } from "./types.ts";
export { keyPath } from "./types.ts";
