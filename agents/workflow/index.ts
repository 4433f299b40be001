/** The workflow stage: planning/validation, retry policy, and the dependency-driven executor. */
export { planWorkflow, validateWorkflow, inspectWorkflow, type Plan, type PlannedStep, type CompiledValue } from "./plan.js";
export { runWorkflow, childPath, type StepResult } from "./execute.js";
export { isRetryable, retryDelayMs } from "./retry.js";
export { workflowGraph, toMermaid, type WorkflowGraph, type GraphNode, type GraphEdge } from "./graph.js";
