/**
 * The raw decode loop: model → sampler → next token, B streams, no automaton. The lead's
 * bench/ttfa compares a Forge run against this loop.
 */
import * as tf from "@tensorflow/tfjs";
import type { CacheOptions, DecoderModel } from "../../forge/model/index.js";
import { sampleTokens, type SamplingOptions } from "../../forge/sampler/index.js";

export interface RawDecodeOptions {
  /** Untimed decode steps first, to bring the KV length up (default 0). */
  prefill?: number;
  /** Sampler options; null: argmax on the logits without the sampler (default: temperature 1). */
  sampling?: SamplingOptions | null;
  seed?: number;
  cache?: CacheOptions;
}

export interface RawDecodeResult {
  batch: number;
  steps: number;
  /** KV columns at the start and end of the timed steps. */
  kvStart: number;
  kvEnd: number;
  ms: number;
  msPerStep: number;
  /** batch × steps / seconds. */
  tokensPerSecond: number;
  /** Tokens of the last step. */
  lastTokens: Int32Array;
}

/** Decode `steps` timed steps for `batch` streams, feeding each sampled token back. */
export async function rawDecodeLoop(model: DecoderModel, batch: number, steps: number, options: RawDecodeOptions = {}): Promise<RawDecodeResult> {
  const prefill = options.prefill ?? 0;
  const sampling = options.sampling === undefined ? {} : options.sampling;
  const seed = options.seed ?? 1;
  const cache = model.createCache(batch, prefill + steps, options.cache);
  const instances = Int32Array.from({ length: batch }, (_, i) => i);
  const positions = new Int32Array(batch);
  const stepIds = new Int32Array(batch);
  let tokens = tf.zeros([batch], "int32") as tf.Tensor1D;
  const one = (): void => {
    const logits = model.decode(cache, tokens, positions);
    const next = sampling === null ? tf.tidy(() => tf.cast(tf.argMax(logits, 1), "int32") as tf.Tensor1D) : sampleTokens(logits, sampling, seed, instances, stepIds);
    logits.dispose();
    tokens.dispose();
    tokens = next;
    positions.forEach((p, b) => (positions[b] = p + 1));
    stepIds.set(positions);
  };
  try {
    for (let i = 0; i < prefill; i++) one();
    await tokens.data(); // sync point before timing (matters on GPU backends)
    const kvStart = cache.length;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) one();
    const lastTokens = (await tokens.data()) as Int32Array;
    const ms = performance.now() - t0;
    return { batch, steps, kvStart, kvEnd: cache.length, ms, msPerStep: ms / steps, tokensPerSecond: (batch * steps * 1000) / ms, lastTokens };
  } finally {
    tokens.dispose();
    cache.dispose();
  }
}
