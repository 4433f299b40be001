/**
 * RZCP — the resolved graph: every zone of the program laid out flat with its nominal and
 * jump edges, still holding placeholder templates and the resources that will fill them.
 * Lowering (lower.ts) samples the resources and yields SZCP.
 */
import type { CallSite } from "../sfcs/errors.js";
import type { BoundResources } from "../sfcs/types.js";
import type { SzcpConfig, SzcpExtraction, SzcpLoop } from "../szcp/types.js";
import type { ZcpZone } from "../zcp/types.js";

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
