/**
 * Multi-token decode (issue 10, "multi-token forced feeding"): each stream feeds up to k
 * tokens in one forward — forced prompt text whose values are known in advance — while other
 * streams feed one (or none). Token j of stream b goes to cache column length + j at position
 * positions[b] + j; it attends to the stream's valid past columns and to its own chunk
 * columns 0..j. Returns the logits of each stream's LAST fed token (what the sampler needs).
 *
 * The per-token blocks (norms, MLP, RoPE) restate decoder.ts's private ones: that file is
 * another engineer's, and these should move into DecoderModel as a method once it is free.
 * Attention uses batched products: the decode's elementwise form would hold k·S·D floats
 * per head.
 */
import * as tf from "@tensorflow/tfjs";
import { linear, type DecoderModel } from "./decoder.js";
import type { KvCache } from "./cache.js";
import { ModelUsageError } from "./errors.js";

const MASKED = -1e9;

/**
 * tokens: row-major [B, k] (entries past counts[b] are ignored); counts[b] in 0..k: tokens
 * stream b feeds (0: held, its columns are masked and its logits row is meaningless).
 */
export function decodeChunk(model: DecoderModel, cache: KvCache, tokens: Int32Array, counts: Int32Array, positions: Int32Array, k: number): tf.Tensor2D {
  cache.checkUsable();
  const B = cache.batch;
  const { heads, kvHeads, headDim: D, maxPositions, vocabSize } = model.config;
  if (!Number.isInteger(k) || k < 1) throw new ModelUsageError(`decodeChunk: k must be a positive integer, got ${k}`);
  if (tokens.length !== B * k) throw new ModelUsageError(`decodeChunk: tokens has ${tokens.length} entries, expected ${B}·${k}`);
  if (counts.length !== B || positions.length !== B) throw new ModelUsageError(`decodeChunk: counts and positions need ${B} entries`);
  const ids = new Int32Array(B * k);
  const pos = new Int32Array(B * k);
  for (let b = 0; b < B; b++) {
    const n = counts[b]!;
    if (!Number.isInteger(n) || n < 0 || n > k) throw new ModelUsageError(`decodeChunk: stream ${b} feeds ${n} tokens, the chunk holds ${k}`);
    if (n > 0 && (positions[b]! < 0 || positions[b]! + n > maxPositions))
      throw new ModelUsageError(`decodeChunk: stream ${b} would reach position ${positions[b]! + n - 1}, outside the model's context (0..${maxPositions - 1})`);
    for (let j = 0; j < k; j++) {
      const live = j < n;
      const t = tokens[b * k + j]!;
      if (live && (t < 0 || t >= vocabSize)) throw new ModelUsageError(`decodeChunk: token ${t} of stream ${b} is outside the vocabulary`);
      ids[b * k + j] = live ? t : 0;
      pos[b * k + j] = live ? positions[b]! + j : 0;
    }
  }

  // Room for k columns, their validity, and the [B, 1, k, 1, S] mask (chunk-causal).
  const col = cache.length;
  for (let j = 0; j < k; j++) {
    cache.length = col + j;
    cache.reserveColumn();
  }
  cache.length = col;
  for (let b = 0; b < B; b++) for (let j = 0; j < k; j++) cache.validity[b * cache.capacity + col + j] = j < counts[b]! ? 1 : 0;
  const S = cache.mode === "functional" ? col + k : cache.allocated;
  const mask = new Float32Array(B * k * S).fill(MASKED);
  for (let b = 0; b < B; b++) {
    const row = b * cache.capacity;
    for (let j = 0; j < k; j++) {
      const base = (b * k + j) * S;
      for (let c = 0; c < col; c++) if (cache.validity[row + c]) mask[base + c] = 0;
      for (let c = col; c <= col + j; c++) if (cache.validity[row + c]) mask[base + c] = 0;
    }
  }
  const rope = model.config.family === "llama" ? ropeRows(model, pos) : null;
  const last = Int32Array.from({ length: B }, (_, b) => b * k + Math.max(counts[b]! - 1, 0));

  const group = heads / kvHeads;
  const w = model.weights;
  const logits = tf.tidy(() => {
    const rows = B * k;
    let x = tf.gatherND(w.tokenEmbedding, tf.tensor2d(ids, [rows, 1], "int32")) as tf.Tensor2D;
    if (w.positionEmbedding !== null) x = tf.add(x, tf.gatherND(w.positionEmbedding, tf.tensor2d(pos, [rows, 1], "int32")));
    const maskT = tf.tensor5d(mask, [B, 1, k, 1, S]);
    const ropeT = rope !== null ? { cos: tf.tensor3d(rope.cos, [rows, 1, D]), sin: tf.tensor3d(rope.sin, [rows, 1, D]) } : null;
    const scale = 1 / Math.sqrt(D);
    w.layers.forEach((layer, l) => {
      const qkv = tf.reshape(linear(model.norm(x, layer.attnNorm), layer.qkv), [rows, heads + 2 * kvHeads, D]);
      let [q, kk, v] = tf.split(qkv, [heads, kvHeads, kvHeads], 1) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
      if (ropeT !== null) {
        q = rotate(q, ropeT.cos, ropeT.sin);
        kk = rotate(kk, ropeT.cos, ropeT.sin);
      }
      // Write column col + j from token j of every stream.
      const k4 = tf.reshape(kk, [B, k, kvHeads, D]);
      const v4 = tf.reshape(v, [B, k, kvHeads, D]);
      for (let j = 0; j < k; j++) {
        cache.length = col + j;
        cache.writeColumn(l, tf.reshape(tf.slice(k4, [0, j, 0, 0], [B, 1, kvHeads, D]), [B, kvHeads, D]) as tf.Tensor3D, tf.reshape(tf.slice(v4, [0, j, 0, 0], [B, 1, kvHeads, D]), [B, kvHeads, D]) as tf.Tensor3D);
      }
      cache.length = col;
      // q [B·kvH, k·group, D] against K [B·kvH, S, D] and V [B·kvH, D, S], batched. (Per-head
      // 2-D products would be XNNPACK's fast path, but splitting into B·kvH pieces costs more
      // than it saves on wasm: measured 4.8 s of SplitV against 0.4 s of batched products.)
      const qh = tf.reshape(tf.transpose(tf.reshape(tf.mul(q, scale), [B, k, kvHeads, group, D]), [0, 2, 1, 3, 4]), [B * kvHeads, k * group, D]);
      const keys = tf.reshape(cache.keys[l]!, [B * kvHeads, S, D]);
      const scores = tf.add(tf.reshape(tf.matMul(qh, keys, false, true), [B, kvHeads, k, group, S]), maskT);
      const weights = tf.reshape(tf.softmax(scores), [B * kvHeads, k * group, S]);
      const values = tf.reshape(cache.values[l]!, [B * kvHeads, D, S]);
      const attended = tf.matMul(weights, values, false, true); // [B·kvH, k·group, D]
      const merged = tf.reshape(tf.transpose(tf.reshape(attended, [B, kvHeads, k, group, D]), [0, 2, 1, 3, 4]), [rows, heads * D]) as tf.Tensor2D;
      x = tf.add(x, linear(merged, layer.attnOut));
      x = tf.add(x, model.mlp(model.norm(x, layer.mlpNorm), layer));
    });
    const lastRows = tf.gather(x, tf.tensor1d(last, "int32")) as tf.Tensor2D;
    return tf.matMul(model.norm(lastRows, w.finalNorm), w.head) as tf.Tensor2D;
  });
  cache.length = col + k;
  return logits;
}

/** HF rotate-half RoPE on [rows, heads, D] with per-row cos/sin [rows, 1, D]. */
function rotate(x: tf.Tensor3D, cos: tf.Tensor3D, sin: tf.Tensor3D): tf.Tensor3D {
  const [x1, x2] = tf.split(x, 2, 2);
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2!), x1!], 2), sin));
}

/** cos/sin rows for the given positions, computed as decoder.ts's tables are (float32 angles). */
function ropeRows(model: DecoderModel, positions: Int32Array): { cos: Float32Array; sin: Float32Array } {
  const D = model.config.headDim;
  const half = D / 2;
  const cos = new Float32Array(positions.length * D);
  const sin = new Float32Array(positions.length * D);
  positions.forEach((p, r) => {
    for (let j = 0; j < half; j++) {
      const angle = Math.fround(p * Math.fround(1 / Math.pow(model.config.ropeTheta, (2 * j) / D)));
      cos[r * D + j] = cos[r * D + j + half] = Math.cos(angle);
      sin[r * D + j] = sin[r * D + j + half] = Math.sin(angle);
    }
  });
  return { cos, sin };
}
