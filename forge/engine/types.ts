/**
 * The engine's vocabulary: what a request asks for, and the pieces a backend holds.
 */
import type { SamplingOptions } from "../sampler/index.js";
import type { ProgressListener } from "./progress.js";
import type { AutomatonKind } from "./automaton.js";

/** A tool a workflow can `capture` to and `feed` from: text in, text out. */
export type ToolFunction = (input: string, context: { instance: number; tool: string }) => Promise<string> | string;
export type ToolRegistry = Record<string, ToolFunction>;

export interface RequestOptions extends SamplingOptions {
  /** Streams decoded together (slots). Default 32. */
  batchSize?: number;
  /** Workflow instances to run; default = batchSize. More than batchSize runs in successive waves. */
  instances?: number;
  /** Id of the first instance (a partition of a larger request: instances firstInstance … firstInstance+instances−1). Default 0. */
  firstInstance?: number;
  /** Seed of the per-instance random draws. Default 0. */
  seed?: number;
  /** Cap on each stream's tokens (prompt + generated); default and ceiling: the model's context length. */
  maxTokens?: number;
  /** Interrupts the run within one step; the partial results come back marked interrupted. */
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Automaton form: "tensor" (tfjs ops, for GPU backends) or "host" (typed arrays); default by backend. */
  automaton?: AutomatonKind;
  /** Milliseconds a tool may take before its stream ends with tool_error. Default 30 000. */
  toolTimeoutMs?: number;
  /**
   * Shared-prefix prefill: the forced text every stream starts with (up to the first step
   * that needs a sampled token) is computed once at batch 1 and its KV cache held once for
   * the whole batch — attention over it is one matrix product per head — instead of one
   * decode step per token for the whole batch and a copy per stream. Default true. Greedy
   * traces are those of a run without it; it rounds differently from one-token steps, so a
   * sampled draw on a near tie may differ.
   */
  prefill?: boolean;
  /**
   * Continuous batching: with more instances than batchSize, a slot whose stream finished
   * takes the next instance at once (instead of waiting for the whole wave); results still
   * come back in instance order. Default true.
   */
  continuousBatching?: boolean;
  /**
   * Shrinking the batch: once no instance is left to start, the rows of finished streams
   * leave the model's batch (one copy of the live rows' KV cache when half the rows are
   * finished), so a tail of a few long streams does not pay for the whole batch at every
   * step. Host automaton only (a tensor automaton keeps every row). Default true.
   */
  shrinkBatch?: boolean;
  /**
   * Multi-token forced feeding: a stream inside a forced run feeds up to this many prompt
   * tokens in one forward while the others generate (the automaton still steps them one by
   * one). Default 1 (off): the chunked forward rounds differently from the one-token decode,
   * and which of the two a stream's step takes depends on the other streams in the batch, so
   * sampled draws on near ties may differ from a run with feedChunk 1 or another batch (greedy
   * traces do not). 16 runs the seed example 1.4–1.7× faster on wasm (bench/ttfa). Needs the
   * host automaton.
   */
  feedChunk?: number;
}
