/** RZCP: the resolved zone graph with resource callbacks; lowering it samples SZCP (docs/language.md#rzcp-the-resolved-graph). */
export type { RzcpGraph, RzcpNode, FlowOp, RunOp, LoopOp, WhenOp, BoundResources } from "./types.js";
export { SfcsError, formatSite, type CallSite, type SfcsProblem } from "./errors.js";
export { buildGraph, type BuildOptions } from "./build.js";
export { lowerGraph } from "./lower.js";
