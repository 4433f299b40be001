/**
 * The raw sampling loop: what a Forge run does per step minus the automaton. Same model,
 * same `decode` (per-stream positions, active mask, same KV cache type and capacity), same
 * seeded sampler the engine uses (`sampleOnBackend`), same batch, and one read-back of the sampled tokens per step (any
 * sampling loop reads its tokens to stream or stop). No automaton, no trace, no yield.
 */
import * as tf from "@tensorflow/tfjs";
import type { DecoderModel } from "../../forge/model/index.js";
import { sampleOnBackend, type SamplingOptions } from "../../forge/sampler/index.js";

export interface RawLoopResult {
  batch: number;
  steps: number;
  ms: number;
  /** batch × steps / seconds. */
  tokensPerSecond: number;
}

/** `steps` decode steps for `batch` streams; the cache is sized like a Forge run's (capacity). */
export async function rawSamplingLoop(
  model: DecoderModel,
  batch: number,
  steps: number,
  options: { seed?: number; sampling?: SamplingOptions; capacity?: number } = {},
): Promise<RawLoopResult> {
  const sampling = options.sampling ?? {};
  const seed = options.seed ?? 0;
  const t0 = performance.now();
  const cache = model.createCache(batch, options.capacity ?? steps);
  const instances = Int32Array.from({ length: batch }, (_, i) => i);
  const positions = new Int32Array(batch);
  const streamSteps = new Int32Array(batch);
  const active = new Uint8Array(batch).fill(1);
  let tokens = tf.fill([batch], 0, "int32") as tf.Tensor1D;
  try {
    for (let step = 0; step < steps; step++) {
      const logits = model.decode(cache, tokens, positions, active);
      const next = sampleOnBackend(logits, sampling, seed, instances, streamSteps);
      logits.dispose();
      tokens.dispose();
      tokens = next;
      await tokens.data(); // the one read-back per step
      for (let s = 0; s < batch; s++) {
        positions[s]!++;
        streamSteps[s]!++;
      }
    }
  } finally {
    tokens.dispose();
    cache.dispose();
  }
  const ms = performance.now() - t0;
  return { batch, steps, ms, tokensPerSecond: (batch * steps * 1000) / ms };
}
