/**
 * Sampling on tensors: logits [B, V] stay on the backend (at V = 50k, B = 256 a host read
 * would be 50 MB per step); only the B uniforms go up and the B tokens come back.
 *
 * Each row b uses the uniform counterUniform(seed, instances[b], steps[b]) and inverse-CDF
 * sampling over its filtered distribution, so a row's token depends only on its logits and
 * (seed, instance, step) — never on the batch size or the row's slot.
 */
import * as tf from "@tensorflow/tfjs";
import { counterUniform } from "./philox.js";
import { resolveSampling, type SamplingOptions } from "./options.js";

/**
 * Index of the first CDF entry reaching u·total, per row: the count of entries below u·total,
 * clamped to the last index (guards float rounding at the top end). Counted as
 * Σ step(target − cdf): on wasm a broadcast comparison (less, lessEqual) runs a generic slow
 * loop (≈ 80 ms at [64, 8192]) where broadcast subtraction + step take ≈ 2.5 ms.
 */
function inverseCdf(probs: tf.Tensor2D, uniforms: tf.Tensor2D): tf.Tensor1D {
  const cdf = tf.cumsum(probs, 1);
  const width = probs.shape[1];
  const total = tf.slice(cdf, [0, width - 1], [-1, 1]);
  const target = tf.mul(uniforms, total);
  const below = tf.cast(tf.sum(tf.step(tf.sub(target, cdf)), 1), "int32");
  return tf.minimum(below, tf.scalar(width - 1, "int32")) as tf.Tensor1D;
}

/** Per-row pick: out[b] = table[b, column[b]] (gatherND is the fast gather on wasm). */
function pickPerRow(table: tf.Tensor2D, column: tf.Tensor1D): tf.Tensor1D {
  const rows = tf.range(0, table.shape[0], 1, "int32");
  const pairs = tf.stack([rows, column], 1);
  return tf.gatherND(table, pairs) as tf.Tensor1D;
}

/**
 * Sample one token per row of `logits` ([B, V] float32). Returns int32 [B].
 * instances[b] and steps[b] identify row b's draw; see counterUniform.
 */
export function sampleTokens(
  logits: tf.Tensor2D,
  options: SamplingOptions,
  seed: number,
  instances: Int32Array,
  steps: Int32Array,
): tf.Tensor1D {
  if (logits.rank !== 2) throw new Error(`sampleTokens: logits must be [B, V], got shape [${logits.shape.join(", ")}]`);
  const [batch, vocab] = logits.shape;
  if (instances.length !== batch || steps.length !== batch)
    throw new Error(`sampleTokens: instances (${instances.length}) and steps (${steps.length}) must have one entry per row (${batch})`);
  const sampling = resolveSampling(options, vocab);
  if (sampling.greedy) return tf.tidy(() => tf.cast(tf.argMax(logits, 1), "int32") as tf.Tensor1D);

  const u = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    // Keep u in (0, 1) in float32: u = 0 could pick a leading zero-probability token, and
    // rounding could turn 1 - 2^-53 into 1.0.
    u[b] = Math.min(Math.max(counterUniform(seed, instances[b]!, steps[b]!), 1e-12), 0.99999994);
  }

  return tf.tidy(() => {
    const uniforms = tf.tensor2d(u, [batch, 1]);
    const scaled = sampling.temperature === 1 ? logits : tf.div(logits, sampling.temperature);
    if (sampling.topK === null && sampling.topP === null) {
      // Plain temperature sampling: inverse CDF in vocabulary order, no sort needed.
      return inverseCdf(tf.softmax(scaled) as tf.Tensor2D, uniforms);
    }
    // Filtered: sort (top-k, or the full vocabulary for a pure nucleus), most likely first.
    const { values, indices } = tf.topk(scaled, sampling.topK ?? vocab, true);
    let probs = tf.softmax(values) as tf.Tensor2D;
    if (sampling.topP !== null) {
      // Keep token j while the mass strictly before it is < p: the smallest prefix reaching p.
      const before = tf.cumsum(probs, 1, true);
      const keep = tf.step(tf.sub(sampling.topP, before)); // before < p (see inverseCdf on comparisons)
      probs = tf.mul(probs, keep) as tf.Tensor2D;
    }
    const column = inverseCdf(probs, uniforms);
    return pickPerRow(indices as tf.Tensor2D, column);
  });
}
