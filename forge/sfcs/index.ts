/** SFCS: flow control over sequences, compiled to a workflow factory (docs/language.md#sfcs). */
export {
  newProgram,
  SFCS_LIMITS,
  Program,
  FlowScope,
  LoopScope,
  type CallArgs,
  type LoopOptions,
  type WhenOptions,
  type ToolOptions,
  type WorkflowFactory,
  type ProgramOptions,
} from "./program.js";
export { SfcsError, formatSite, type CallSite, type SfcsProblem } from "./errors.js";
export type { FlowOp, RunOp, LoopOp, WhenOp, BoundResources } from "./types.js";
