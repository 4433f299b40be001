/**
 * RZCP — the resolved graph: every zone of the program laid out flat with its nominal and
 * jump edges, still holding placeholder templates and the resources that will fill them.
 * The graph builder (build.ts) takes in the tree of flow operations an SFCS program records;
 * lowering (lower.ts) samples the resources and yields SZCP.
 */
import type { Resource } from "../resources/types.js";
import type { SzcpConfig, SzcpExtraction, SzcpLoop } from "../szcp/types.js";
import type { ZcpSequence, ZcpZone } from "../zcp/types.js";
import type { CallSite } from "./errors.js";

/** Resources by resource name. */
export type BoundResources = Readonly<Record<string, Resource>>;

/** What every flow operation keeps: the resources it resolves placeholders with and its call site. */
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

/** One operation of an SFCS program (program.run / .loop / .when), as recorded. */
export type FlowOp = RunOp | LoopOp | WhenOp;

export interface RzcpNode {
  zone: ZcpZone;
  next: number;
  jump: number | null;
  loop: SzcpLoop | null;
  capture: string | null;
  feed: string | null;
  programResources: BoundResources;
  args: BoundResources;
  /** The SFCS call that placed this zone (for sampling-time errors). */
  site: CallSite;
}

export interface RzcpGraph {
  config: SzcpConfig;
  nodes: RzcpNode[];
  counters: number;
  extractions: SzcpExtraction[];
  /** Resource names that `argument` placeholders need from the factory's arguments. */
  argumentNames: string[];
  meta: Record<string, string>;
}
