/**
 * What a run produces (docs/engine.md#what-a-run-yields): per-stream traces, and what is derived from them —
 * extractions, branch paths and statistics. The engine fills `streams`; `forge/run/derive.ts`
 * computes the rest from the traces and the workflow.
 */
import type { SzcpWorkflow } from "../szcp/types.js";

/** Why a stream stopped. Every limit that ends a stream early is named here, never silent. */
export type StreamStatus =
  | "done" // walked past the last zone
  | "truncated" // hit the context length or the request's maxTokens
  | "timeout" // reached the end, but at least one zone was closed by its maxGen limit
  | "interrupted" // the request was aborted (AbortSignal / kernel interrupt)
  | "tool_error"; // a capture tool threw or timed out; `message` says which and why

export type TraceEventKind =
  | "jump" // the control pattern took a jump at a jump site
  | "ignored_jump" // the control pattern fired but a loop's `min` was not reached, or it was escaped
  | "forced_exit" // a loop's `max` was reached: the exit was taken by force
  | "timeout" // the zone reached maxGen: its advance pattern is being injected
  | "advance" // the zone's advance pattern fired: moved to `next`
  | "capture" // a capture zone ended; its text went to the tool
  | "tool_result"; // the tool's output arrived in the stream's input buffer

export interface TraceEvent {
  /** Index into the stream's token arrays of the token that caused the event. */
  step: number;
  kind: TraceEventKind;
  /** Zone (pc) the stream was in. */
  zone: number;
  /** Zone moved to (END = -1 when the program ended), for jump / forced_exit / advance. */
  target?: number;
}

export interface StreamTrace {
  /** Workflow instance this stream ran (equals the slot unless batching refilled slots). */
  instance: number;
  /** Emitted token per step of this stream, forced or generated, up to the step it finished. */
  tokens: Int32Array;
  /** Zone id (pc) in which each token was emitted, before any transition it caused. */
  pcs: Int32Array;
  /** 1 where the automaton forced the token (prompt feed, timeout injection, tool output). */
  forced: Uint8Array;
  events: TraceEvent[];
  status: StreamStatus;
  message?: string;
  /** Per-step log-probabilities when the request asked for them (option `logprobs`; forge/instruments). */
  logprobs?: TraceLogprobs;
}

/**
 * Log-probabilities along one stream, index i belonging to `tokens[i]`; NaN (ids −1) where the
 * token was forced, since the model chose nothing there.
 */
export interface TraceLogprobs {
  /** log p(token) under the model's own distribution (softmax of the raw logits). */
  model: Float32Array;
  /** log p(token) under the distribution it was drawn from (temperature, top-k, top-p, constraint mask applied). */
  sampling: Float32Array;
  /** Inside jump sites: the model's probability mass on tokens that advance or fire the control pattern (NaN elsewhere). */
  hazard: Float32Array;
  /** With `logprobs: { top: k }`: the k best tokens per step under the model, best first, row-major [steps × k]. */
  top?: { k: number; ids: Int32Array; logprobs: Float32Array };
}

/** One stretch of a stream spent in one zone: a step of the branch path. */
export interface PathSegment {
  zoneId: number;
  sequence: string;
  block: number;
  zone: number;
  repetition: number;
  /** [stepStart, stepEnd) in the stream's token arrays. */
  stepStart: number;
  stepEnd: number;
  /** The segment was left by a jump (taken or forced exit) rather than the nominal edge. */
  jumped: boolean;
}

export interface JumpSiteStatistics {
  zoneId: number;
  sequence: string;
  block: number;
  /** Times the site was entered, over all streams. */
  visits: number;
  /** Jumps taken there (by the model's control pattern). */
  taken: number;
  /** Exits taken by force because a loop's `max` was reached. */
  forced: number;
  /** Streams that took the jump at least once. */
  streamsTaking: number;
}

export interface LoopStatistics {
  /** The loop head's jump-site zone. */
  zoneId: number;
  sequence: string;
  /** Per stream: body iterations completed (summed over every entry of the loop). */
  iterations: number[];
}

export interface RunStatistics {
  jumpSites: JumpSiteStatistics[];
  loops: LoopStatistics[];
  /** Per stream. */
  generatedTokens: number[];
  forcedTokens: number[];
  length: number[];
  /** Per sequence name: tokens generated and forced, over all streams. */
  bySequence: Record<string, { generated: number; forced: number }>;
  status: Record<StreamStatus, number>;
}

export interface RunMetadata {
  runId: string;
  seed: number;
  workflowHash: string;
  /** tfjs backend that ran it: "tensorflow" | "wasm" | "cpu". */
  backend: string;
  /** What computed the model (issue 17): "tfjs" or "onnxruntime"; absent in runs recorded before. */
  engine?: string;
  /** Where it ran: "cpu", "cuda", or a tfjs backend that may be either ("tensorflow"). */
  device?: string;
  model: string;
  tokenizer: string;
  batchSize: number;
  instances: number;
  startedAt: string;
  wallMs: number;
  /** Decode steps taken by the batch. */
  steps: number;
  /**
   * Added for issue 10 (optional: runs merged or loaded from elsewhere may lack it). Token
   * rows the model computed: each decode step counts every slot of the batch, the shared
   * prefix counts its tokens once.
   */
  forwardTokens?: number;
  /** Added for issue 10: length in tokens of the shared prefix computed once (0 when prefill was off or there was none). */
  sharedPrefixTokens?: number;
  interrupted: boolean;
  sampling: Record<string, number | string | boolean | null>;
  /** A counterfactual replay (session.replay): the run it replays, and per stream what was forced where. */
  replayOf?: { runId: string; streams: Array<{ instance: number; step: number | null; force: string | null }> };
}

export interface Run {
  meta: RunMetadata;
  workflow: SzcpWorkflow;
  streams: StreamTrace[];
  /** extraction name → per stream (instance order) decoded text. */
  extractions: Record<string, string[]>;
  /** Per stream (instance order): the branch path. */
  paths: PathSegment[][];
  statistics: RunStatistics;
  /** Decisions at jump sites (forge/instruments/decisions.ts), when the request asked for logprobs. */
  decisions?: DecisionRecord[];
  /** Choice scores of every generating visit of a `choices` zone (docs/automaton.md#choice-scores); absent when the workflow has none. */
  choices?: ChoiceRecord[];
}

/** One scored visit of a `choices` zone (forge/ttfa/choices.ts says which numbers are exact). */
export interface ChoiceRecord {
  instance: number;
  /** Program zone id (SZCP zone index). */
  zoneId: number;
  /** The n-th visit of that zone that generated tokens, in the stream, from 0. */
  visit: number;
  /** The stream's step (index into its trace) of the visit's first generated token. */
  step: number;
  /** Index into the zone's choices of the one the stream spelled, or null (timeout, abandoned constraint). */
  choice: number | null;
  /** Per choice, in the zone's order: a probability of the kind `basis` names. */
  probabilities: number[];
  /** Per choice: "path" (exact probability of the token path walked) or "first_token" (allowed first-token mass). */
  basis: Array<"path" | "first_token">;
}

/** What a jump-site visit did: took the jump, fired it under a loop's `min` (or escaped), was forced out by `max`, or ended without it. */
export type DecisionOutcome = "jump" | "ignored_jump" | "forced_exit" | "no_jump";

/** One visit of a jump site in which the model sampled (forge/instruments/decisions.ts says exactly what the numbers are). */
export interface DecisionRecord {
  instance: number;
  /** Program zone id (SZCP zone index) of the jump site. */
  zoneId: number;
  /** The n-th visit of that zone in the stream, from 0 (for a loop head: the iteration). */
  visit: number;
  /** Index into the stream's trace of the visit's first sampled token. */
  step: number;
  /** Probability that the model emits the control pattern from that step (docs/instruments.md#decision-probabilities): exact, or an estimate along the walked path (`exact`). */
  pJump: number;
  /** Whether pJump is exact (request `logprobs: { decisions: "exact" }`, probe forwards) or the walked-path estimate; absent (runs made before it): the estimate. */
  exact?: boolean;
  /** When it jumped: the probability of the tokens it sampled from that step through the pattern's last. */
  pPath: number | null;
  outcome: DecisionOutcome;
  taken: boolean;
}
