/** Shared by the model tests: compare incremental decoding with the full forward pass. */
import * as tf from "@tensorflow/tfjs";
import type { DecoderModel, KvCache } from "../../../forge/model/index.js";

/** Largest |a - b| between two logits rows. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Logits [T][V] of one sequence from the oracle. */
export function oracle(model: DecoderModel, seq: number[]): number[][] {
  return tf.tidy(() => (model.forward([seq]).arraySync() as number[][][])[0]!);
}

/** One decode step; returns the logits rows on the host. */
export function step(model: DecoderModel, cache: KvCache, tokens: number[], positions: number[], active?: number[]): number[][] {
  const ids = tf.tensor1d(tokens, "int32");
  const logits = model.decode(cache, ids, Int32Array.from(positions), active ? Uint8Array.from(active) : undefined);
  const rows = logits.arraySync();
  ids.dispose();
  logits.dispose();
  return rows;
}
