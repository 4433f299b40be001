/**
 * KV-cache surgery for the engine's throughput features (issue 10):
 * - `prefillPrefix`: the K/V of a token sequence for ONE stream, computed once;
 * - `attachPrefix`: those columns become the shared prefix of a batch cache (shared-prefix
 *   prefill: the forced text common to all streams costs the forward tokens of one stream,
 *   its memory once, and attention over it one 2-D product per head: attention.ts);
 * - `compactCache`: drop the columns no stream may attend to any more (continuous batching:
 *   a finished stream's columns are released, and the slot's row is reused);
 * - `keepRows`: drop the rows of finished streams (once the queue is empty, a finished
 *   stream's row would otherwise still be computed at every step).
 *
 * Columns are global decode steps (cache.ts); attention reads a row's valid columns in any
 * order (positions live in the K/V themselves: learned embeddings or RoPE), so a row's valid
 * columns may be moved as long as their order is kept.
 */
import * as tf from "@tensorflow/tfjs";
import { INFERENCE_OPS, type DecoderModel, type ForwardOps } from "./decoder.js";
import { KvCache } from "./cache.js";
import { ModelUsageError } from "./errors.js";
import { ropeAngle, ropeInvFreq } from "./rope.js";

/**
 * How the prefix K/V are computed:
 * - "forward": one causal forward over the n tokens (model.forwardIds, with the qkv products
 *   captured); one pass of 2-D products over n rows — fast.
 * - "decode": n calls of the model's own `decode` at batch 1 — the same arithmetic as the
 *   batch decode, slower (one dispatch of every op per token).
 */
export type PrefillMethod = "forward" | "decode";

/**
 * A batch-1 cache holding `tokens` at positions 0..n−1. `layout` ("decode" only): grow its
 * columns as that cache would (same capacity and chunk), so that every step's attention
 * reduces over the same columns as a batch decode of that layout and rounds the same way.
 */
export function prefillPrefix(
  model: DecoderModel,
  tokens: ArrayLike<number>,
  method: PrefillMethod = "forward",
  layout?: Pick<KvCache, "capacity" | "chunk" | "mode">,
): KvCache {
  return method === "forward" ? prefillByForward(model, tokens) : prefillByDecode(model, tokens, layout);
}

/**
 * The causal forward with its qkv products kept: K and V of every layer at positions 0..n−1
 * (RoPE applied to K as decode does). The head is skipped: only the cache is wanted.
 */
function prefillByForward(model: DecoderModel, tokens: ArrayLike<number>): KvCache {
  const n = tokens.length;
  checkPrefix(model, n);
  const { layers, heads, kvHeads, headDim: D, vocabSize } = model.config;
  const layerOf = new Map(model.weights.layers.map((layer, l) => [layer.qkv, l]));
  const qkv: tf.Tensor2D[] = new Array(layers);
  const ops: ForwardOps = {
    ...INFERENCE_OPS,
    linear: (x, l) => {
      const y = INFERENCE_OPS.linear(x, l);
      const layer = layerOf.get(l);
      if (layer !== undefined) qkv[layer] = tf.keep(y);
      return y;
    },
    head: (x) => tf.zeros([x.shape[0], vocabSize]),
  };
  const cache = model.createCache(1, n, { chunk: n, mode: "functional" });
  try {
    const ids = tf.tensor2d(Int32Array.from(tokens), [1, n], "int32");
    model.forwardIds(ids, ops).dispose();
    ids.dispose();
    const rope = model.config.family === "llama" ? ropeAt(model, n) : null;
    for (let l = 0; l < layers; l++) {
      const [k, v] = tf.tidy(() => {
        const [, kRows, vRows] = tf.split(tf.reshape(qkv[l]!, [n, heads + 2 * kvHeads, D]), [heads, kvHeads, kvHeads], 1) as tf.Tensor3D[];
        let kr = kRows!;
        if (rope !== null) {
          // HF rotate-half RoPE, as decode applies it: x·cos + [−x₂, x₁]·sin.
          const [x1, x2] = tf.split(kr, 2, 2);
          kr = tf.add(tf.mul(kr, rope.cos), tf.mul(tf.concat([tf.neg(x2!), x1!], 2), rope.sin));
        }
        return [tf.reshape(tf.transpose(kr, [1, 0, 2]), [1, kvHeads, n, D]), tf.reshape(tf.transpose(vRows!, [1, 2, 0]), [1, kvHeads, D, n])];
      });
      cache.keys[l]!.dispose();
      cache.values[l]!.dispose();
      cache.keys[l] = k as tf.Tensor4D;
      cache.values[l] = v as tf.Tensor4D;
    }
    rope?.cos.dispose();
    rope?.sin.dispose();
    cache.validity.fill(1, 0, n);
    cache.length = n;
    return cache;
  } catch (error) {
    cache.dispose();
    throw error;
  } finally {
    for (const t of qkv) t?.dispose();
  }
}

/** RoPE cos/sin [n, 1, D] for positions 0..n−1, computed as decoder.ts does (float32 angles). */
function ropeAt(model: DecoderModel, n: number): { cos: tf.Tensor3D; sin: tf.Tensor3D } {
  const D = model.config.headDim;
  const half = D / 2;
  const cos = new Float32Array(n * D);
  const sin = new Float32Array(n * D);
  const invFreq = ropeInvFreq(model.config);
  for (let p = 0; p < n; p++) {
    for (let j = 0; j < half; j++) {
      const angle = ropeAngle(p, invFreq[j]!);
      cos[p * D + j] = cos[p * D + j + half] = Math.cos(angle);
      sin[p * D + j] = sin[p * D + j + half] = Math.sin(angle);
    }
  }
  return { cos: tf.tensor3d(cos, [n, 1, D]), sin: tf.tensor3d(sin, [n, 1, D]) };
}

function checkPrefix(model: DecoderModel, n: number): void {
  if (n < 1) throw new ModelUsageError("prefillPrefix: no tokens");
  if (n > model.config.maxPositions) throw new ModelUsageError(`prefillPrefix: ${n} tokens exceed the model's context (${model.config.maxPositions})`);
}

/**
 * One batch-1 decode per token: K/V by the very arithmetic of the batch decode (bit-identical
 * rows when `layout` is the batch cache's).
 */
function prefillByDecode(model: DecoderModel, tokens: ArrayLike<number>, layout?: Pick<KvCache, "capacity" | "chunk" | "mode">): KvCache {
  const n = tokens.length;
  checkPrefix(model, n);
  const cache = model.createCache(1, Math.max(n, layout?.capacity ?? n), { chunk: layout?.chunk, mode: layout?.mode });
  const position = new Int32Array(1);
  try {
    for (let i = 0; i < n; i++) {
      position[0] = i;
      const token = tf.tensor1d([tokens[i]!], "int32");
      model.decode(cache, token, position).dispose();
      token.dispose();
    }
  } catch (error) {
    cache.dispose();
    throw error;
  }
  return cache;
}

/**
 * Make the `source.length` columns of a batch-1 cache the shared prefix of the empty `target`:
 * every stream of `target` attends to them before its own columns (attention.ts), and they
 * are held once — per layer and kv head, keys [headDim, P] and values [P, headDim] — instead
 * of copied into each stream's row. The source stays the caller's (dispose it after).
 */
export function attachPrefix(source: KvCache, target: KvCache): void {
  source.checkUsable();
  target.checkUsable();
  const n = source.length;
  if (source.batch !== 1) throw new ModelUsageError(`attachPrefix: the source cache must hold one stream, it holds ${source.batch}`);
  if (source.prefix !== null) throw new ModelUsageError("attachPrefix: the source cache has a shared prefix of its own");
  if (target.length !== 0 || target.prefix !== null) throw new ModelUsageError(`attachPrefix: the target cache already holds ${target.length} columns${target.prefix !== null ? " and a prefix" : ""}`);
  if (source.layers !== target.layers || source.kvHeads !== target.kvHeads || source.headDim !== target.headDim)
    throw new ModelUsageError("attachPrefix: the two caches belong to different model shapes");
  if (n < 1) throw new ModelUsageError("attachPrefix: the source cache is empty");
  const { kvHeads: H, headDim: D } = target;
  const srcCols = source.mode === "functional" ? n : source.allocated;
  const keys: tf.Tensor2D[][] = [];
  const values: tf.Tensor2D[][] = [];
  for (let l = 0; l < target.layers; l++) {
    const sk = source.keys[l]!.dataSync() as Float32Array; // [1, H, srcCols, D]
    const sv = source.values[l]!.dataSync() as Float32Array; // [1, H, D, srcCols]
    keys.push([]);
    values.push([]);
    for (let h = 0; h < H; h++) {
      const kT = new Float32Array(D * n);
      const v = new Float32Array(n * D);
      for (let c = 0; c < n; c++)
        for (let d = 0; d < D; d++) {
          kT[d * n + c] = sk[(h * srcCols + c) * D + d]!;
          v[c * D + d] = sv[(h * D + d) * srcCols + c]!;
        }
      keys[l]!.push(tf.tensor2d(kT, [D, n]));
      values[l]!.push(tf.tensor2d(v, [n, D]));
    }
  }
  target.prefix = { length: n, keys, values };
}

/**
 * Drop dead columns: each stream's valid columns are packed to the front, in order (the
 * shared prefix, held apart, is untouched). Returns the new length (the most valid columns
 * any stream has).
 */
export function compactCache(cache: KvCache): number {
  cache.checkUsable();
  const { batch: B, kvHeads: H, headDim: D, capacity } = cache;
  // kept[b] lists the old column of each new column.
  const kept: number[][] = [];
  let length = 0;
  for (let b = 0; b < B; b++) {
    const row: number[] = [];
    for (let c = 0; c < cache.length; c++) if (cache.validity[b * capacity + c]) row.push(c);
    kept.push(row);
    length = Math.max(length, row.length);
  }
  const oldCols = cache.mode === "functional" ? cache.length : cache.allocated;
  const cols = cache.mode === "functional" ? length : Math.min(capacity, Math.max(length + 1, Math.ceil((length + 1) / cache.chunk) * cache.chunk));
  for (let l = 0; l < cache.layers; l++) {
    const ok = cache.keys[l]!.dataSync() as Float32Array; // [B, H, oldCols, D]
    const ov = cache.values[l]!.dataSync() as Float32Array; // [B, H, D, oldCols]
    const k = new Float32Array(B * H * cols * D);
    const v = new Float32Array(B * H * D * cols);
    for (let b = 0; b < B; b++) {
      const row = kept[b]!;
      for (let h = 0; h < H; h++) {
        const bh = b * H + h;
        for (let i = 0; i < row.length; i++) k.set(ok.subarray((bh * oldCols + row[i]!) * D, (bh * oldCols + row[i]! + 1) * D), (bh * cols + i) * D);
        for (let d = 0; d < D; d++) {
          const from = (bh * D + d) * oldCols;
          const to = (bh * D + d) * cols;
          for (let i = 0; i < row.length; i++) v[to + i] = ov[from + row[i]!]!;
        }
      }
    }
    replaceLayer(cache, l, k, v, cols);
  }
  for (let b = 0; b < B; b++) {
    const base = b * capacity;
    cache.validity.fill(0, base, base + capacity);
    cache.validity.fill(1, base, base + kept[b]!.length);
  }
  cache.length = length;
  if (cache.mode === "inplace") cache.allocated = cols;
  return length;
}

/**
 * A cache holding only rows `rows` of `cache` (in that order), which it replaces: the other
 * rows' streams are finished, and the next steps compute `rows.length` rows instead of
 * `cache.batch`. Columns, validity and the shared prefix carry over; `cache` is disposed.
 */
export function keepRows(cache: KvCache, rows: ArrayLike<number>): KvCache {
  cache.checkUsable();
  const { batch: B, layers, kvHeads: H, headDim: D, capacity, mode, chunk } = cache;
  const R = rows.length;
  if (R < 1) throw new ModelUsageError("keepRows: no rows to keep");
  for (let r = 0; r < R; r++)
    if (!Number.isInteger(rows[r]) || rows[r]! < 0 || rows[r]! >= B) throw new ModelUsageError(`keepRows: row ${rows[r]} is outside the batch (0..${B - 1})`);
  const kept = new KvCache(R, capacity, layers, H, D, mode, chunk);
  const cols = mode === "functional" ? cache.length : cache.allocated;
  const block = H * cols * D; // one row of keys, or of values
  for (let l = 0; l < layers; l++) {
    const ok = cache.keys[l]!.dataSync() as Float32Array;
    const ov = cache.values[l]!.dataSync() as Float32Array;
    const k = new Float32Array(R * block);
    const v = new Float32Array(R * block);
    for (let r = 0; r < R; r++) {
      k.set(ok.subarray(rows[r]! * block, (rows[r]! + 1) * block), r * block);
      v.set(ov.subarray(rows[r]! * block, (rows[r]! + 1) * block), r * block);
    }
    replaceLayer(kept, l, k, v, cols);
  }
  for (let r = 0; r < R; r++) kept.validity.set(cache.validity.subarray(rows[r]! * capacity, (rows[r]! + 1) * capacity), r * capacity);
  kept.length = cache.length;
  kept.allocated = cache.allocated;
  kept.prefix = cache.prefix;
  cache.prefix = null; // moved, not disposed with `cache`
  cache.dispose();
  return kept;
}

function replaceLayer(cache: KvCache, layer: number, k: Float32Array, v: Float32Array, cols: number): void {
  const { batch: B, kvHeads: H, headDim: D } = cache;
  cache.keys[layer]!.dispose();
  cache.values[layer]!.dispose();
  cache.keys[layer] = tf.tensor4d(k, [B, H, cols, D]);
  cache.values[layer] = tf.tensor4d(v, [B, H, D, cols]);
}
