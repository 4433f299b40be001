/**
 * The engine benches' raw decode loop: `StepModel.decode` → the engine's seeded sampler
 * (`sampleOnBackend`, temperature 1) → the sampled tokens fed back, one step per call, with no
 * automaton. Shared by main.ts (the raw rows), quantize.ts (int8 weights and KV cache) and their
 * warm-ups.
 */
import { sampleOnBackend } from "../../forge/sampler/index.js";
import type { StepCache, StepModel } from "../../forge/model/step-model.js";

/**
 * `steps` decode steps of `batch` rows on `cache`, every row starting at position `start` with
 * token `firstToken`, every row active. Returns the tokens emitted.
 */
export function decodeSteps(model: StepModel, cache: StepCache, batch: number, steps: number, options: { start?: number; firstToken?: number } = {}): number {
  const instances = Int32Array.from({ length: batch }, (_, i) => i);
  const positions = new Int32Array(batch).fill(options.start ?? 0);
  const stepIds = new Int32Array(batch).fill(options.start ?? 0);
  let tokens: Int32Array = new Int32Array(batch).fill(options.firstToken ?? 0);
  for (let s = 0; s < steps; s++) {
    const logits = model.decode(cache, tokens, positions);
    const next = sampleOnBackend(logits, {}, 1, instances, stepIds);
    logits.dispose();
    tokens = next.dataSync() as Int32Array;
    next.dispose();
    positions.forEach((p, b) => (positions[b] = p + 1));
    stepIds.set(positions);
  }
  return batch * steps;
}

/** `decodeSteps` from an empty cache of `steps` columns, disposed afterwards. */
export function rawDecodeLoop(model: StepModel, batch: number, steps: number): number {
  const cache = model.createCache(batch, steps);
  try {
    return decodeSteps(model, cache, batch, steps);
  } finally {
    cache.dispose();
  }
}
