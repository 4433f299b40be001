/**
 * Multi-token decode (issue 10, "multi-token forced feeding"): each stream feeds up to k
 * tokens in one forward — forced prompt text whose values are known in advance — while other
 * streams feed one (or none). Token j of stream b goes to cache column length + j at position
 * positions[b] + j; it attends to the stream's valid past columns and to its own chunk
 * columns 0..j (and to the cache's shared prefix, if any). Returns the logits of each
 * stream's LAST fed token (what the sampler needs).
 *
 * Norms, MLP and linear products are the decoder's own; RoPE is applied per row here (each
 * row has its own position). Attention over the own columns uses products of the k query rows
 * with each (stream, kv head)'s columns — the decode's elementwise form would hold k·S·D
 * floats per head — batched, or on wasm one 2-D product per pair (perStreamAttention).
 */
import * as tf from "@tensorflow/tfjs";
import { linear, type DecoderModel } from "./decoder.js";
import type { KvCache } from "./cache.js";
import { ModelUsageError } from "./errors.js";
import { attentionParts } from "./attention.js";
import { ropeAngle, ropeInvFreq } from "./rope.js";

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
  cache.reserveColumns(k);
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
  // Wide chunks on wasm: own-column attention as one 2-D product per (stream, kv head).
  const perStream = tf.getBackend() === "wasm" && cache.mode === "inplace" && k * group >= PER_STREAM_MIN_ROWS;
  const w = model.weights;
  const logits = tf.tidy(() => {
    const rows = B * k;
    let x = tf.gatherND(w.tokenEmbedding, tf.tensor2d(ids, [rows, 1], "int32")) as tf.Tensor2D;
    if (w.positionEmbedding !== null) x = tf.add(x, tf.gatherND(w.positionEmbedding, tf.tensor2d(pos, [rows, 1], "int32")));
    const maskT = tf.tensor5d(mask, [B, 1, k, 1, S]);
    const ropeT = rope !== null ? { cos: tf.tensor3d(rope.cos, [rows, 1, D]), sin: tf.tensor3d(rope.sin, [rows, 1, D]) } : null;
    const scale = 1 / Math.sqrt(D);
    w.layers.forEach((layer, l) => {
      // q, k and v as three products: splitting one fused product copies it whole per part on wasm.
      const h = model.norm(x, layer.attnNorm);
      const proj = model.qkvProjections(l);
      let q = tf.reshape(linear(h, proj.q), [rows, heads, D]) as tf.Tensor3D;
      let kk = tf.reshape(linear(h, proj.k), [rows, kvHeads, D]) as tf.Tensor3D;
      const v = tf.reshape(linear(h, proj.v), [rows, kvHeads, D]) as tf.Tensor3D;
      if (ropeT !== null) {
        q = rotate(q, ropeT.cos, ropeT.sin);
        kk = rotate(kk, ropeT.cos, ropeT.sin);
      }
      // Columns col..col+k−1 from tokens 0..k−1 of every stream.
      const byColumn = (t: tf.Tensor3D) => tf.transpose(tf.reshape(t, [B, k, kvHeads, D]), [1, 0, 2, 3]) as tf.Tensor4D;
      cache.writeColumns(l, byColumn(kk), byColumn(v));
      // q [B·kvH, k·group, D] against the own columns K [B·kvH, S, D] and V [B·kvH, D, S].
      const qh = tf.reshape(tf.transpose(tf.reshape(tf.mul(q, scale), [B, k, kvHeads, group, D]), [0, 2, 1, 3, 4]), [B * kvHeads, k * group, D]) as tf.Tensor3D;
      const own = perStream ? perStreamAttention(cache, l) : batchedAttention(cache, l);
      const scores = tf.add(tf.reshape(own.scores(qh), [B, kvHeads, k, group, S]), maskT);
      // One softmax over the shared prefix (if any) and the stream's own columns.
      const parts = attentionParts(cache.prefix, l, tf.reshape(qh, [B, kvHeads, k * group, D]), tf.reshape(scores, [B, kvHeads, k * group, S]));
      const { ownShare, prefixOut } = parts;
      let attended = tf.reshape(own.values(tf.reshape(parts.own, [B * kvHeads, k * group, S]) as tf.Tensor3D), [B, kvHeads, k * group, D]);
      if (ownShare !== null) attended = tf.add(tf.mul(attended, ownShare), prefixOut!);
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

/**
 * Attention products of R query rows per (stream, kv head) against that pair's own columns:
 * scores(q [B·kvH, R, D]) → [B·kvH, R, S]; values(weights [B·kvH, R, S]) → [B·kvH, R, D].
 */
interface OwnAttention {
  scores(q: tf.Tensor3D): tf.Tensor3D;
  values(weights: tf.Tensor3D): tf.Tensor3D;
}

/** Batched products over all pairs at once (any backend; on wasm a plain loop, ≈ 1 GFLOP/s). */
function batchedAttention(cache: KvCache, layer: number): OwnAttention {
  const { batch: B, kvHeads: H, headDim: D } = cache;
  const S = cache.keys[layer]!.shape[2];
  return {
    scores: (q) => tf.matMul(q, tf.reshape(cache.keys[layer]!, [B * H, S, D]), false, true),
    values: (w) => tf.matMul(w, tf.reshape(cache.values[layer]!, [B * H, D, S]), false, true),
  };
}

/** Chunks at least this many query rows wide per (stream, kv head) take perStreamAttention on wasm. */
const PER_STREAM_MIN_ROWS = 8;

/**
 * One 2-D product per (stream, kv head), the cache block as the left operand: [S, D] × [D, R]
 * and [D, S] × [S, R], XNNPACK's fast path. Each block is copied out of the cache's memory
 * through one reused host buffer (the wasm backend's slice would copy the whole layer per
 * block). Measured at batch 64, 16 rows: 2.5–3.7× the batched products; at 4 rows about
 * even, at 1 row 3× slower (kernel dispatch per pair), hence PER_STREAM_MIN_ROWS.
 */
function perStreamAttention(cache: KvCache, layer: number): OwnAttention {
  const { batch: B, kvHeads: H, headDim: D } = cache;
  const S = cache.keys[layer]!.shape[2];
  const block = new Float32Array(S * D);
  /** For each pair p: block p of the cache's `kind` ([rows, cols]) times block p of `right` ([cols, R]) → [B·H, R, rows]. */
  const products = (kind: "keys" | "values", rows: number, cols: number, right: tf.Tensor3D): tf.Tensor3D => {
    const R = right.shape[1];
    const rightT = tf.transpose(right, [0, 2, 1]).dataSync() as Float32Array; // [B·H, cols, R]
    const out: tf.Tensor2D[] = [];
    for (let p = 0; p < B * H; p++) {
      // The view is taken afresh for each block: uploading a tensor may move the wasm heap.
      block.set(cache.hostView(kind, layer).subarray(p * rows * cols, (p + 1) * rows * cols));
      out.push(tf.tidy(() => tf.matMul(tf.tensor2d(block, [rows, cols]), tf.tensor2d(rightT.subarray(p * cols * R, (p + 1) * cols * R), [cols, R]))));
    }
    return tf.transpose(tf.stack(out), [0, 2, 1]) as tf.Tensor3D;
  };
  return {
    scores: (q) => products("keys", S, D, q), // K block [S, D] · qᵀ [D, R]
    values: (w) => products("values", D, S, w), // V block [D, S] · wᵀ [S, R]
  };
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
  const invFreq = ropeInvFreq(model.config);
  positions.forEach((p, r) => {
    for (let j = 0; j < half; j++) {
      const angle = ropeAngle(p, invFreq[j]!);
      cos[r * D + j] = cos[r * D + j + half] = Math.cos(angle);
      sin[r * D + j] = sin[r * D + j + half] = Math.sin(angle);
    }
  });
  return { cos, sin };
}
