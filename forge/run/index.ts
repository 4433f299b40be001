/**
 * The run stage: what a run produces (types) and what is derived from its traces —
 * branch paths, extractions and statistics (docs/engine.md#what-a-run-yields).
 */
export type * from "./types.js";
export {
  deriveRun,
  deriveExtractions,
  deriveStatistics,
  loopIterations,
  pathSignature,
  sequenceVisits,
  streamPath,
  validateTrace,
  type DeriveRunInput,
  type SequenceVisit,
} from "./derive.js";
export { RunTraceError } from "./errors.js";
