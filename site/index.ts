// The site's public surface: publishing, serving, and what a consumer (pull, lookup) reads.
export { publishSite, type PublishOptions, type PublishResult } from "./publish.ts";
export { gen, type GenIndex, type GenOptions, type GenSummary, type GenTools } from "./gen.ts";
export { siteHandler, startSiteServer } from "./serve.ts";
export { verifyManifest } from "./publish-signature.ts";
export {
  matchSources,
  openSiteManifest,
  readSiteManifest,
  type SiteManifestReader,
  type SourceFilter,
  type SourceKey,
} from "./read-manifest.ts";
export {
  cdnManifestV1Schema,
  cdnPartSchema,
  cdnPartSchemaId,
  cdnRootSchema,
  cdnSchemaId,
  cdnSchemaVersion,
  type CdnBundle,
  type CdnFile,
  type CdnKernel,
  type CdnManifest,
  type CdnPart,
  type CdnPartRef,
  type CdnRoot,
  type CdnSet,
  type CdnSetCoverage,
  type CdnSource,
  type UnameIndex,
} from "./cdn-manifest.ts";
export {
  bundlePath,
  cdnManifestName,
  cdnPartPath,
  fullTarballPath,
  parseKernelPath,
  publicKeyName,
  setBtfPath,
  signatureName,
  unameIndexName,
} from "./cdn-layout.ts";
export { unionSetName } from "../archive/manifest.ts";
