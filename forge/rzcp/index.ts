/** RZCP: the resolved zone graph with resource callbacks; lowering it samples SZCP (docs/language.md#rzcp-the-resolved-graph). */
export type { RzcpGraph, RzcpNode } from "./types.js";
export { buildGraph, type BuildOptions } from "./build.js";
export { lowerGraph } from "./lower.js";
