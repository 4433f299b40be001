/**
 * The softmax of attention over a cache's columns, with its shared prefix (cache.ts's
 * SharedPrefixKv) when it has one. The prefix's K/V are the same for every stream, so for
 * each kv head the scores of all query rows against it are ONE 2-D product [rows, D] × [D, P]
 * and their weighted values one [rows, P] × [P, D] — the wasm backend's fast path (XNNPACK,
 * ≈ 10× the elementwise form the per-stream columns need; docs/engine.md#backend-facts). With a 327-token
 * prefix and ≈ 440 own columns this removes over half of a decode step's attention work.
 *
 * Shared by `decode` (one query per stream) and `decodeChunk` (k per stream): both lay their
 * queries out as [B, kvHeads, R, D] and their own columns' masked scores as [B, kvHeads, R, S].
 */
import * as tf from "@tensorflow/tfjs";
import type { SharedPrefixKv } from "./cache.js";

export interface AttentionParts {
  /** Softmax weights over the cache's own columns alone, [B, kvHeads, R, S]. */
  own: tf.Tensor4D;
  /**
   * The own columns' share of the joint softmax over [prefix | own columns], [B, kvHeads, R, 1]:
   * multiply the values attended with `own` by it. Null without a prefix (the share is 1).
   */
  ownShare: tf.Tensor4D | null;
  /** The prefix's attended values at their share, [B, kvHeads, R, D]; null without a prefix. */
  prefixOut: tf.Tensor4D | null;
}

/**
 * q: scaled queries [B, kvHeads, R, D]; ownScores: their masked scores against the cache's own
 * columns [B, kvHeads, R, S].
 *
 * The joint softmax is assembled from one softmax per part, so that the large [.., P] and
 * [.., S] tensors are never concatenated or sliced (the wasm backend's slice copies its whole
 * input, its gather and exp run element by element; its softmax is XNNPACK's). A part's
 * softmax is e^(x − m)/z with its own max m and normaliser z = 1 / (its largest weight); in
 * the joint softmax part i weighs z_i·e^(m_i − M) / Σ_j z_j·e^(m_j − M), M the larger max.
 * A row whose own columns are all masked gets share e^(−1e9) = 0 for them, as before.
 */
export function attentionParts(prefix: SharedPrefixKv | null, layer: number, q: tf.Tensor4D, ownScores: tf.Tensor4D): AttentionParts {
  const own = tf.softmax(ownScores);
  if (prefix === null) return { own, ownShare: null, prefixOut: null };
  const [B, H, R, D] = q.shape;
  /** H per-head tensors [B·R, X] → [B, H, R, X], the own part's layout. */
  const streamMajor = (perHead: tf.Tensor[], X: number) => tf.transpose(tf.reshape(tf.stack(perHead), [H, B, R, X]), [1, 0, 2, 3]) as tf.Tensor4D;
  // Per kv head g: the rows of every stream as one [B·R, D] matrix (head-major: contiguous),
  // cut from one host copy: tf.split would copy the whole tensor once per head on wasm.
  const headMajor = tf.transpose(q, [1, 0, 2, 3]).dataSync() as Float32Array;
  const rows = Array.from({ length: H }, (_, g) => tf.tensor2d(headMajor.subarray(g * B * R * D, (g + 1) * B * R * D), [B * R, D]));
  const scores = rows.map((qg, g) => tf.matMul(qg, prefix.keys[layer]![g]!)); // H × [B·R, P]
  const weights = scores.map((s) => tf.softmax(s));
  const prefixValues = streamMajor(weights.map((w, g) => tf.matMul(w, prefix.values[layer]![g]!)), D);

  const ownMax = tf.max(ownScores, -1, true);
  const prefixMax = streamMajor(scores.map((s) => tf.max(s, -1, true)), 1);
  const top = tf.maximum(ownMax, prefixMax);
  const ownMass = tf.div(tf.exp(tf.sub(ownMax, top)), tf.max(own, -1, true)); // z·e^(m − M)
  const prefixMass = tf.div(tf.exp(tf.sub(prefixMax, top)), streamMajor(weights.map((w) => tf.max(w, -1, true)), 1));
  const total = tf.add(ownMass, prefixMass);
  return { own, ownShare: tf.div(ownMass, total) as tf.Tensor4D, prefixOut: tf.mul(prefixValues, tf.div(prefixMass, total)) as tf.Tensor4D };
}
