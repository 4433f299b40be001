/**
 * Workflow Forge — the public API, stage by stage in pipeline order. The pipeline in one
 * picture (the same as docs/README.md#the-pipeline, where each stage is described):
 *
 *   UDPL text (TOML prompt files)
 *       │  parseUdpl / parseUdplFile / parseUdplFolder                   forge/udpl
 *       ▼
 *   ZCP sequences: blocks split into zone templates (literals, placeholders)     forge/zcp
 *       │  newProgram(sequences, resources, config)          forge/sfcs, forge/resources
 *       │  .run / .loop / .when / .capture / .feed / .extract, then .compile()
 *       ▼
 *   WorkflowFactory holding the RZCP graph: zones laid out flat, next/jump edges  forge/rzcp
 *       │  factory(args): every resource sampled                         forge/rzcp
 *       ▼
 *   SZCP workflow: plain, versioned JSON (zod schema, hash)              forge/szcp
 *   ═══════════ serialization boundary: the client above, the backend below ═══════════
 *       │  session.request(config, workflow, options): in this process, over HTTP or
 *       │  through a Redis queue           forge/session, forge/transport, forge/connect.ts
 *       │  lowerWorkflow(workflow, tokenizer)                forge/lzcp, forge/tokenizer
 *       ▼
 *   LZCP workflow: token ids, tag masks, tool ids, the vocabulary's bytes
 *       │  assembleProgram(lzcp)       (compileForBackend: both steps)   forge/ttfa
 *       ▼
 *   TTFA program: column-wise bytecode and a token-level trigger table
 *       │  the engine, each decode step, all streams: model → sampler → automaton
 *       │                      forge/engine, forge/model, forge/sampler, forge/backend
 *       ▼
 *   StreamTrace per stream: tokens, zones, forced flags, events, status
 *       │  deriveRun(…)                                                  forge/run
 *       ▼
 *   Run: extractions, branch paths, statistics
 *       │  samplesTable / exportRun …   branchPathChart / jumpStatisticsChart …
 *       │                                                     datasets/, viz/ (above forge)
 *       ▼
 *   Arrow tables, JSON Lines files, Vega-Lite charts
 *
 * The layers above forge (agents/, datasets/, viz/, kernel/, cli/, studio/) import this file
 * and the few others package.json `exports` names, never forge's internals
 * (docs/README.md#layers; test/architecture/imports.test.ts).
 */

// 1. UDPL: TOML prompt files → config + sequences of ZCP blocks.
export { parseUdpl, parseUdplFile, parseUdplFolder, UdplError, DEFAULT_MAX_GEN } from "./udpl/index.js";
export type { UdplConfig, UdplParseResult, UdplWarning, ParseUdplOptions } from "./udpl/index.js";

// 2. Resources: what fills placeholders when a workflow is sampled.
export { staticResource, listSampler, feedbackBuffer, ResourceError } from "./resources/index.js";
export type { Resource, ResourceMap, StaticResource, ListSampler, FeedbackBuffer } from "./resources/index.js";

// 3. SFCS: flow control in TypeScript → a workflow factory (through the RZCP graph).
export { newProgram, Program, SfcsError } from "./sfcs/index.js";
export type { WorkflowFactory, LoopOptions, CallArgs } from "./sfcs/index.js";

// 4. SZCP: the serializable workflow — the client/backend boundary.
export {
  serializeWorkflow,
  deserializeWorkflow,
  workflowHash,
  dumpWorkflow,
  workflowToMermaid,
  workflowToDot,
  szcpSchema,
  SzcpError,
} from "./szcp/index.js";
export type { SzcpWorkflow, SzcpZone, SzcpConfig, SzcpExtraction, EscapeSpec } from "./szcp/types.js";

// 5. Backend side: tokenizer → LZCP → TTFA program (bytecode + trigger automaton).
export { ByteTokenizer, HfTokenizer, loadTokenizer, loadGpt2Tokenizer, byteLevelTokenizerJson, TokenizerError } from "./tokenizer/index.js";
export type { ForgeTokenizer } from "./tokenizer/types.js";
export { lowerWorkflow } from "./lzcp/index.js";
export { compileForBackend, assembleProgram, ReferenceInterpreter, TensorAutomaton, TtfaEvent } from "./ttfa/index.js";
export type { TtfaProgram } from "./ttfa/index.js";

// 6. Model, sampler and the tfjs backend the engine runs on.
export { DecoderModel, loadModel, saveModel, smallConfig } from "./model/index.js";
export type { DecoderConfig } from "./model/index.js";
export { initBackend, currentBackend } from "./backend/index.js";
export type { SamplingOptions } from "./sampler/index.js";

// 7. Running: backend, server, session (the seed's make_backend / make_server / make_session).
//    The contract (forge/session) sits below the transports (forge/transport/*); connect.ts picks one.
export { makeBackend, ForgeBackend, type BackendOptions, type BackendInfo } from "./session/backend.js";
export { Session, DirectServer, BackendConfigError } from "./session/index.js";
export type { ForgeServer, RequestResult, ReplaySpec } from "./session/index.js";
export { makeServer, makeSession, defaultSession, type ServerOptions } from "./connect.js";
export { setAmbientHooks, type Progress, type ProgressListener } from "./session/ambient.js";
// Remote execution over HTTP: makeServer(backend, {address}) serves, makeSession("http://…") connects.
export * as server from "./transport/http/index.js";
export { HttpClient, registerResultTables } from "./transport/http/index.js";
export type { HttpForgeServer, HttpClientOptions, ServerLimits, ServerInfo } from "./transport/http/index.js";
// Many machines: makeSession("redis://…") splits a request into BullMQ jobs for `forge worker` processes.
export { makeQueueSession, QueueClient, startQueueWorker, QueueJobError } from "./transport/queue/index.js";
export type { QueueSessionOptions } from "./transport/queue/index.js";
export { RequestError } from "./engine/errors.js";
export { ForgeError, isForgeError } from "./errors.js";
export { requestOptionsSchema, RequestOptionsError } from "./engine/options.js";
export type { RequestOptions, WireRequestOptions, ToolFunction, ToolRegistry } from "./engine/types.js";

// 8. What a run yields.
export { deriveRun, mergeRuns, encodeRun, decodeRun } from "./run/index.js";
export type { Run, RunMetadata, StreamTrace, StreamStatus, PathSegment, RunStatistics, TraceEvent, TraceLogprobs, DecisionRecord, DecisionOutcome, ChoiceRecord } from "./run/types.js";
export { mimeBundle, isDisplayable, type MimeBundle } from "./display.js";

