/** TTFA stage: LZCP → program (bytecode), trigger automaton, reference interpreter, tensor automaton. */
export type { TtfaProgram, TriggerTable, ByteAutomaton, TtfaExtraction, StepRecord, TtfaEventBits } from "./types.js";
export { TTFA_FORMAT, TTFA_VERSION, TtfaEvent } from "./types.js";
export { TtfaError } from "./errors.js";
export { assembleProgram, compileForBackend, checkProgramTokenizer } from "./assemble.js";
export { compileCacheStats, COMPILE_CACHE_ENTRIES, COMPILE_CACHE_BYTES } from "./compile-cache.js";
export { buildTriggerTable, buildTriggerTableInSlices, TRIGGER_CACHE_ENTRIES, TRIGGER_CACHE_BYTES, buildByteAutomaton, runBytes, scanBytes, triggerColumn, MAX_AUTOMATON_STATES, MAX_TRIGGER_TABLE_CELLS, type TokenByteSource } from "./trigger.js";
export {
  ReferenceInterpreter,
  runScripted,
  segmentTokens,
  DEFAULT_MAX_TOOL_TOKENS,
  type InterpreterState,
  type InterpreterOptions,
  type ScriptedTool,
  type ScriptedRunOptions,
} from "./reference.js";
export { TensorAutomaton, type AutomatonStepOutput, type TensorAutomatonOptions } from "./tensor.js";
export { StreamTraceBuilder, TraceRecorder, type HostStepOutput } from "./trace.js";
export { HostAutomaton, type HostStepArrays } from "./host.js";
export {
  buildConstraintTable, constraintNext, allowedTokens, determinize, ConstraintError, MAX_CONSTRAINT_DFA_STATES, MAX_CONSTRAINT_TABLE_CELLS,
  type ConstraintInfo, type ConstraintRequest,
} from "./constraint.js";
