/**
 * Agents — the orchestration layer around Forge (docs/agents.md): proc, template and workflow
 * agents behind one interface; a dependency-driven executor with retries, timeouts and
 * onFailure; a SQLite results tape with resume; a CLI; pattern mining; sandboxed user code.
 */
export type {
  Agent,
  ProcAgent,
  TemplateAgent,
  WorkflowAgent,
  AgentContext,
  AgentLookup,
  PortSpec,
  Ports,
  Inputs,
  Outputs,
  StepSpec,
  RetryPolicy,
  OnFailure,
  SideEffects,
} from "./types.js";
export {
  AgentError,
  ExpressionError,
  InputError,
  WorkflowValidationError,
  StepFailedError,
  StepTimeoutError,
  AbortedError,
  InDoubtError,
  errorKind,
  type ValidationProblem,
} from "./errors.js";
export { defineProc, defineTemplate, defineWorkflow, checkInputs } from "./define.js";
export { AgentRegistry, loadAgentModule } from "./registry.js";
export { loadAgentFile, agentsFromDefinition } from "./definition.js";
export { systemClock, FakeClock, type Clock } from "./clock.js";
export { runAgent, resumeRun, type RunOptions, type RunResult } from "./run.js";
export { invokeAgent } from "./invoke.js";
export {
  planWorkflow,
  validateWorkflow,
  inspectWorkflow,
  retryDelayMs,
  workflowGraph,
  toMermaid,
  type WorkflowGraph,
  type GraphNode,
  type GraphEdge,
} from "./workflow/index.js";
export * as expressions from "./expressions/index.js";
export { MAX_TAPE_VALUE_CHARS, Tape, type TapeEvent, type TapeEventKind, type StepOutcome, type RunRecord, type TapeDurability, type UnfinishedStep } from "./tape/index.js";
export {
  createDefaultRegistry,
  extractionsToTable,
  forgeSampleAgent,
  datasetsExportAgent,
  loopAgent,
  noopAgent,
  type ForgeSession,
  type SzcpFactory,
  type DatasetExporter,
  type BuiltinOptions,
} from "./builtins.js";
export {
  minePatterns,
  patternToWorkflow,
  WorkflowLibrary,
  createWorkflowLibrary,
  builtinWorkflows,
  type ExecutionLogEntry,
  type SequencePattern,
  type Suggestion,
} from "./mining/index.js";
export {
  runSandboxed,
  defineSandboxedProc,
  sandboxCommand,
  networkNamespaceAvailable,
  SandboxError,
  type SandboxLimits,
} from "./sandbox/index.js";
export { forgeSession, createForgeRegistry, confineExports, type ForgeRegistryOptions } from "./wiring.js";
