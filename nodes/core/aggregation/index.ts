/* Aggregation: packing rules and the parent/child hierarchy, in the pool file (docs/aggregation.md). */
export {
  Aggregation, aggregationFor, checkLevels, combine, mixingProblem, stateCode, refusalError, MIXING_POLICIES,
} from "./hierarchy";
export type {
  AggregationLevel, MixingPolicy, PackElement, PackOptions, PackedParent, UnpackOptions, ParentInfo, TreeNode, TreeEvent,
  Refusal, SerialRow,
} from "./hierarchy";
export { AggregationBuilder } from "./builder";
export type { ClosedParent, OpenLevel, ScanResult } from "./builder";
export { AGGREGATION_SCHEMA } from "./schema";
