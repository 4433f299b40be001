/**
 * The seam between the generation loop (forge/engine/generate.ts) and whatever computes the
 * model: the loop asks for a cache, feeds tokens, attaches a shared prefix, drops finished
 * rows, and reads logits; it never looks inside the cache. Two implementations:
 * - `tfjsStepModel(decoder)`: the tfjs decoder (decoder.ts, chunk.ts, prefill.ts), as before;
 * - forge/backend/onnx: the same decoder as an ONNX Runtime graph (issue 17).
 */
import * as tf from "@tensorflow/tfjs";
import type { DecoderConfig } from "./config.js";
import type { DecoderModel } from "./decoder.js";
import type { KvCache } from "./cache.js";
import { decodeChunk } from "./chunk.js";
import { attachPrefix, compactCache, keepRows, prefillPrefix, type PrefillMethod } from "./prefill.js";
import { probeTree } from "./probe.js";

/** A batch of streams' past, as one model holds it. Rows are streams. */
export interface StepCache {
  readonly batch: number;
  /** Columns in use (the most any row holds, or the global step count: the model's choice). */
  readonly length: number;
  /** Columns the cache may hold; the loop compacts before `length + width` would reach it. */
  readonly capacity: number;
  /** Row `row` starts afresh: it forgets its own columns (it keeps the shared prefix). */
  resetSlot(row: number): void;
  dispose(): void;
}

export interface StepModel<C extends StepCache = StepCache> {
  readonly name: string;
  readonly config: DecoderConfig;
  /** What runs it, e.g. "tfjs" or "onnxruntime". */
  readonly engine: string;
  /** Where it runs: "cpu", "cuda" (ONNX Runtime's CUDA provider), or a tfjs backend that may be either ("tensorflow"). */
  readonly device: string;
  createCache(batch: number, capacity: number): C;
  /**
   * One token per row: tokens [B] (a tensor or host ints), positions[b] its position,
   * active[b] = 0: row b is held (it writes nothing lasting; its logits row is meaningless).
   * Returns logits [B, vocab].
   */
  decode(cache: C, tokens: tf.Tensor1D | Int32Array, positions: Int32Array, active?: Uint8Array): tf.Tensor2D;
  /**
   * Up to k tokens per row (tokens row-major [B, k], counts[b] of them real, 0: held):
   * logits [B, vocab] of each row's last fed token.
   */
  decodeChunk(cache: C, tokens: Int32Array, counts: Int32Array, positions: Int32Array, k: number): tf.Tensor2D;
  /** The K/V of `tokens` (positions 0..n−1), computed once and attended by every row of the empty `cache`. */
  attachPrefix(cache: C, tokens: Int32Array): void;
  /** Drop columns no row attends to any more. */
  compact(cache: C): void;
  /** A cache holding only rows `rows` (in that order); `cache` is consumed. */
  keepRows(cache: C, rows: ArrayLike<number>): C;
  /**
   * Optional ("probe" forwards, exact decision probabilities): logits [rows.length, n, vocab]
   * (row-major) of one token tree of n nodes fed after each of `rows`' pasts, writing nothing to
   * the cache. Node i feeds tokens[i] at position positions[r] + depth(i) − 1 (positions[r]: row
   * rows[r]'s next position) and attends to the row's past and to its ancestors (parents[i] < i;
   * −1: the past itself).
   */
  probe?(cache: C, rows: Int32Array, tokens: Int32Array, parents: Int32Array, positions: Int32Array): Float32Array;
}

/** The device of a tfjs backend: wasm and cpu run on the CPU; tensorflow (tfjs-node) may be a GPU build, so it is named as is. */
export function tfjsDevice(backend: string): string {
  return backend === "wasm" || backend === "cpu" ? "cpu" : backend;
}

/**
 * What a run's metadata and `backend.info()` say about the model's computation: the engine
 * and its device (the step model when one was chosen, else the tfjs decoder on `tfjsBackend`).
 */
export function engineIdentity(step: StepModel | undefined, tfjsBackend: string): { engine: string; device: string } {
  return step !== undefined ? { engine: step.engine, device: step.device } : { engine: "tfjs", device: tfjsDevice(tfjsBackend) };
}

/** The tfjs decoder behind the seam: exactly the calls the loop made before it existed. */
export function tfjsStepModel(model: DecoderModel, prefillMethod: PrefillMethod = "forward"): StepModel<KvCache> {
  return {
    name: model.name,
    config: model.config,
    engine: "tfjs",
    device: tfjsDevice(tf.getBackend()),
    createCache: (batch, capacity) => model.createCache(batch, capacity),
    decode: (cache, tokens, positions, active) => {
      if (!(tokens instanceof Int32Array)) return model.decode(cache, tokens, positions, active);
      const t = tf.tensor1d(tokens, "int32");
      try {
        return model.decode(cache, t, positions, active);
      } finally {
        t.dispose();
      }
    },
    decodeChunk: (cache, tokens, counts, positions, k) => decodeChunk(model, cache, tokens, counts, positions, k),
    attachPrefix: (cache, tokens) => {
      const prefixCache = prefillPrefix(model, tokens, prefillMethod);
      try {
        attachPrefix(prefixCache, cache);
      } finally {
        prefixCache.dispose();
      }
    },
    compact: (cache) => void compactCache(cache),
    keepRows: (cache, rows) => keepRows(cache, rows),
    probe: (cache, rows, tokens, parents, positions) => probeTree(model, cache, rows, tokens, parents, positions),
  };
}
