/**
 * viz — Vega-Lite charts of a Run (docs/workbench.md#viz).
 *
 * Each builder takes a Run and returns a plain Vega-Lite spec (`TopLevelSpec`) that is
 * also displayable in the kernel (a non-enumerable `[mimeBundle]` method): the last
 * expression of a cell shows as the chart, and `JSON.stringify(spec)` is the bare spec.
 * Charts stay readable at 500+ streams by sampling or aggregating, and say which.
 *
 * Load this module with ESM `import` (vega and vega-lite use top-level await).
 */
export { branchPathChart, DEFAULT_MAX_STREAMS, type BranchPathOptions } from "./branchPath.js";
export { jumpStatisticsChart, histogram, MAX_HISTOGRAM_BARS } from "./jumpStatistics.js";
export {
  decisionTreeChart,
  distinctPaths,
  DEFAULT_MAX_PATHS,
  type DecisionTreeOptions,
  type DistinctPath,
} from "./decisionTree.js";
export { tokenBudgetChart, type TokenBudgetOptions } from "./tokenBudget.js";
export { workflowGraphChart, type WorkflowGraphInput } from "./workflowGraph.js";
export { decisionChart, compareChart, CALIBRATION_BINS } from "./decisions.js";
export {
  asDisplayable,
  chartBundle,
  chartTitle,
  renderSvg,
  shortRunId,
  toPlainJson,
  VEGALITE_MIME,
  VEGALITE_SCHEMA,
  type ChartSpec,
  type ViewSpec,
} from "./render.js";
export { sampleEvenly, streamsNote } from "./sample.js";
export { siteLabel, zoneKind, zoneLabel } from "./labels.js";
export { VizError } from "./errors.js";
