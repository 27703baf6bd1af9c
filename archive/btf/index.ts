// Public surface of the BTF reader: decode, load from a file, check layouts and kinds.
export { parseBtfExt, type BtfExt, type BtfExtHeader, type CoreReloRecord, type CoreReloSection } from "./ext.ts";
export type { BtfHeader } from "./header.ts";
export { BtfKind, btfKindNames, kindSupport, kindsUnsupportedBy, type BtfKindName, type KindSupport } from "./kinds.ts";
export {
  compareLayouts,
  layoutOf,
  layoutSignature,
  structLayouts,
  type LayoutSignature,
  type MemberLayout,
  type StructLayout,
} from "./layout.ts";
export { openBtf, typesNamedLike } from "./lazy.ts";
export { loadBtf, loadElfBtf } from "./load.ts";
export { parseBtf } from "./parse.ts";
export { mergeSplitBtf, type MergedBtf, type MergedPart, type SplitBtf } from "./merge.ts";
export { joinSplitBtf, splitTypeNames } from "./split.ts";
export { surveyBtf, type BtfSurvey } from "./survey.ts";
export {
  IntEncoding,
  btfTypeById,
  type BtfArray,
  type BtfComposite,
  type BtfDatasec,
  type BtfDeclTag,
  type BtfEnum,
  type BtfEnum64,
  type BtfEnumValue,
  type BtfFloat,
  type BtfFunc,
  type BtfFuncProto,
  type BtfFwd,
  type BtfInt,
  type BtfMember,
  type BtfParam,
  type BtfSpec,
  type BtfType,
  type BtfTypeTag,
  type BtfVar,
  type BtfVarSecinfo,
  type Linkage,
} from "./types.ts";
