/** RZCP: the resolved zone graph with resource callbacks; lowering it samples SZCP (FORGE.md §1, §4). */
export type { RzcpGraph, RzcpNode } from "./types.js";
export { buildGraph, type BuildOptions } from "./build.js";
export { lowerGraph } from "./lower.js";
