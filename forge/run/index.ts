/**
 * The run stage: what a run produces (types) and what is derived from its traces —
 * branch paths, extractions and statistics (docs/engine.md#what-a-run-yields); the Runs of a
 * request's parts merged into one (merge.ts); a Run as JSON, for the wire (codec.ts).
 */
export type * from "./types.js";
export {
  deriveRun,
  deriveExtractions,
  deriveStatistics,
  StatisticsAccumulator,
  loopIterations,
  pathSignature,
  sequenceVisits,
  streamPath,
  validateTrace,
  type DeriveRunInput,
  type SequenceVisit,
} from "./derive.js";
export { RunTraceError, RunStatisticsError, RunMergeError } from "./errors.js";
export { mergeRuns, mergeStatistics, unstartedRun, type MergeRequest, type InstanceRange } from "./merge.js";
export { encodeRun, decodeRun, wireRunSchema, wireStreamTraceSchema, WireError, type ArrayEncoding, type WireRun, type WireStreamTrace } from "./codec.js";
