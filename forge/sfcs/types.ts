/**
 * The SFCS program as recorded: a tree of flow operations over ZCP sequences. Each
 * operation keeps the resources it resolves placeholders with and its call site.
 */
import type { Resource } from "../resources/types.js";
import type { ZcpSequence } from "../zcp/types.js";
import type { CallSite } from "./errors.js";

/** Resources by resource name. */
export type BoundResources = Readonly<Record<string, Resource>>;

interface OpBase {
  /** Resources given to newProgram (fill `standard` placeholders). */
  programResources: BoundResources;
  /** Resources given to this call (fill `custom` placeholders), by resource name. */
  args: BoundResources;
  site: CallSite;
}

export interface RunOp extends OpBase {
  kind: "run";
  sequence: ZcpSequence;
  /** Tool that receives the last zone's generated text. */
  capture: string | null;
  /** Tool whose output replaces the last zone's generation. */
  feed: string | null;
}

export interface LoopOp extends OpBase {
  kind: "loop";
  head: ZcpSequence;
  body: FlowOp[];
  min: number | null;
  max: number | null;
}

export interface WhenOp extends OpBase {
  kind: "when";
  condition: ZcpSequence;
  ifBranch: FlowOp[];
  elseBranch: FlowOp[];
}

export type FlowOp = RunOp | LoopOp | WhenOp;
