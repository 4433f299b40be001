/**
 * The SFCS program as recorded: a tree of flow operations over ZCP sequences. The tree is
 * what the RZCP graph builder takes in, so its types are declared there
 * (forge/rzcp/types.ts) and re-exported here.
 */
export type { BoundResources, FlowOp, RunOp, LoopOp, WhenOp } from "../rzcp/types.js";
