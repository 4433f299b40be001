/** Pattern mining over execution logs, and the workflow library with `register` / `suggest`. */
export { minePatterns, patternToWorkflow, type ExecutionLogEntry, type SequencePattern, type MiningOptions } from "./mine.js";
export {
  WorkflowLibrary,
  createWorkflowLibrary,
  builtinWorkflows,
  type LibraryEntry,
  type SuggestQuery,
  type Suggestion,
} from "./library.js";
