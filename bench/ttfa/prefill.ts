/**
 * Prefill for the host-orchestrated baseline: one full causal forward over every stream's
 * whole context (no cache reuse), as a prompt library's generate() does on each call. It
 * returns the last position's logits and a KV cache holding the context, which the rest of
 * the call then extends with the model's own `decode` (the same decode a Forge run uses).
 *
 * Written to be as cheap as the wasm backend allows, so the baseline is not slowed by us:
 * weight products are 2-D over all B·T rows (XNNPACK's fast path), attention is one 2-D
 * product per (stream, head) with K transposed explicitly (batched or transposed products
 * fall off XNNPACK, docs/engine.md#backend-facts), and the LM head runs on the last position only.
 * GPT-2 family only (learned positions, no RoPE): the benchmark model is GPT-2 shaped.
 */
import * as tf from "@tensorflow/tfjs";
import type { DecoderModel, KvCache } from "../../forge/model/index.js";
import type { Linear, Norm } from "../../forge/model/index.js";

const GELU_C = Math.sqrt(2 / Math.PI);

export interface Prefill {
  /** Logits at each stream's last context position, [B, vocab]. */
  logits: tf.Tensor2D;
  /** Cache with columns 0 … T-1 filled, room for `extra` more decode steps. */
  cache: KvCache;
}

export interface PrefillOptions {
  /** Stream tokens encoded together (default 4 096). */
  rowsPerGroup?: number;
  /** Cache columns allocated at a time, as in createCache (default 32, the engine's). */
  chunk?: number;
}

/** contexts: B sequences of equal length T (token ids); extra: decode steps to leave room for. */
export function prefill(model: DecoderModel, contexts: Int32Array[], extra: number, options: PrefillOptions = {}): Prefill {
  const { config } = model;
  if (config.family !== "gpt2") throw new Error(`prefill: only the GPT-2 family is supported (got ${config.family})`);
  const B = contexts.length;
  const T = contexts[0]!.length;
  contexts.forEach((c, b) => {
    if (c.length !== T) throw new Error(`prefill: context ${b} has ${c.length} tokens, context 0 has ${T}`);
  });
  if (T + extra > config.maxPositions) throw new Error(`prefill: ${T} + ${extra} tokens exceed the model's context (${config.maxPositions})`);
  if (config.kvHeads !== config.heads) throw new Error("prefill: grouped-query attention is not supported");
  const capacity = T + extra;
  const chunk = options.chunk ?? 32;
  // Columns allocated now: T rounded up to whole chunks, as if the cache had grown to T.
  const allocated = Math.min(capacity, Math.ceil(T / chunk) * chunk);

  // Streams are independent: encode them in groups of ≈ ROWS_PER_GROUP tokens, so the
  // [rows, 4·width] MLP activations stay small next to the wasm heap's 4 GiB.
  const group = Math.max(1, Math.floor((options.rowsPerGroup ?? ROWS_PER_GROUP) / T));
  const parts: Array<{ logits: tf.Tensor2D; keys: tf.Tensor4D[]; values: tf.Tensor4D[] }> = [];
  for (let first = 0; first < B; first += group) parts.push(encodeGroup(model, contexts.slice(first, first + group), allocated - T));
  const result = tf.tidy(() => ({
    logits: tf.concat(parts.map((p) => p.logits)) as tf.Tensor2D,
    keys: Array.from({ length: config.layers }, (_, l) => tf.concat(parts.map((p) => p.keys[l]!)) as tf.Tensor4D),
    values: Array.from({ length: config.layers }, (_, l) => tf.concat(parts.map((p) => p.values[l]!)) as tf.Tensor4D),
  }));
  for (const p of parts) [p.logits, ...p.keys, ...p.values].forEach((t) => t.dispose());
  return { logits: result.logits, cache: filledCache(model, result.keys, result.values, T, capacity, allocated, chunk) };
}

/** A cache holding T columns given as full tensors ([B, H, allocated, D] and [B, H, D, allocated]). */
function filledCache(model: DecoderModel, keys: tf.Tensor4D[], values: tf.Tensor4D[], T: number, capacity: number, allocated: number, chunk: number): KvCache {
  const B = keys[0]!.shape[0];
  const cache = model.createCache(B, capacity, { chunk });
  for (let l = 0; l < model.config.layers; l++) {
    cache.keys[l]!.dispose();
    cache.values[l]!.dispose();
    cache.keys[l] = keys[l]!;
    cache.values[l] = values[l]!;
  }
  cache.allocated = allocated;
  cache.length = T;
  for (let b = 0; b < B; b++) cache.validity.fill(1, b * capacity, b * capacity + T);
  return cache;
}

/** Rows (stream tokens) encoded together. */
const ROWS_PER_GROUP = 4096;

/** The forward over a group of streams: last logits, and K/V laid out as the cache wants them. */
function encodeGroup(model: DecoderModel, contexts: Int32Array[], extra: number): { logits: tf.Tensor2D; keys: tf.Tensor4D[]; values: tf.Tensor4D[] } {
  const { config, weights } = model;
  const { heads: H, headDim: D, hiddenSize: W } = config;
  const B = contexts.length;
  const T = contexts[0]!.length;
  const ids = new Int32Array(B * T);
  contexts.forEach((c, b) => ids.set(c, b * T));
  const keys: tf.Tensor4D[] = [];
  const values: tf.Tensor4D[] = [];
  const causalMask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9));
  const scale = 1 / Math.sqrt(D);
  let x = tf.tidy(() => {
    const embedded = tf.gatherND(weights.tokenEmbedding, tf.tensor2d(ids, [B * T, 1], "int32"));
    const pos = tf.slice(weights.positionEmbedding!, [0, 0], [T, W]);
    return tf.reshape(tf.add(tf.reshape(embedded, [B, T, W]), pos), [B * T, W]) as tf.Tensor2D;
  });
  for (const layer of weights.layers) {
    // One scope per layer: only x and this layer's K/V outlive it.
    const next = tf.tidy(() => {
      const qkv = tf.reshape(linear(norm(x, layer.attnNorm, config.normEps), layer.qkv), [B, T, 3 * H, D]);
      const heads = tf.transpose(qkv, [0, 2, 1, 3]); // [B, 3H, T, D]
      const q = tf.mul(tf.slice(heads, [0, 0, 0, 0], [B, H, T, D]), scale);
      const k = tf.slice(heads, [0, H, 0, 0], [B, H, T, D]) as tf.Tensor4D;
      const v = tf.slice(heads, [0, 2 * H, 0, 0], [B, H, T, D]) as tf.Tensor4D;
      const kT = tf.transpose(k, [0, 1, 3, 2]); // [B, H, D, T]
      const vT = tf.transpose(v, [0, 1, 3, 2]);
      const q2 = tf.reshape(q, [B * H * T, D]);
      const kT2 = tf.reshape(kT, [B * H * D, T]);
      const v2 = tf.reshape(v, [B * H * T, D]);
      const outs: tf.Tensor2D[] = [];
      for (let bh = 0; bh < B * H; bh++) {
        // Own scope: only this pair's [T, D] output is kept.
        outs.push(tf.tidy(() => {
          const scores = tf.add(tf.matMul(tf.slice(q2, [bh * T, 0], [T, D]), tf.slice(kT2, [bh * D, 0], [D, T])), causalMask);
          return tf.matMul(tf.softmax(scores) as tf.Tensor2D, tf.slice(v2, [bh * T, 0], [T, D]));
        }));
      }
      const attended = tf.reshape(tf.transpose(tf.reshape(tf.concat(outs, 0), [B, H, T, D]), [0, 2, 1, 3]), [B * T, W]) as tf.Tensor2D;
      let y = tf.add(x, linear(attended, layer.attnOut)) as tf.Tensor2D;
      const h = linear(norm(y, layer.mlpNorm, config.normEps), layer.mlpIn);
      const act = tf.mul(tf.mul(h, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(h, tf.mul(tf.mul(tf.mul(h, h), h), 0.044715)), GELU_C))));
      y = tf.add(y, linear(act as tf.Tensor2D, layer.mlpOut));
      // Cache layout: keys [B, H, columns, D], values [B, H, D, columns].
      return { y, k: tf.pad(k, [[0, 0], [0, 0], [0, extra], [0, 0]]) as tf.Tensor4D, v: tf.pad(vT, [[0, 0], [0, 0], [0, 0], [0, extra]]) as tf.Tensor4D };
    });
    x.dispose();
    x = next.y;
    keys.push(next.k);
    values.push(next.v);
  }
  // The head on each stream's last position only.
  const logits = tf.tidy(() => {
    const last = tf.reshape(tf.slice(tf.reshape(x, [B, T, W]), [0, T - 1, 0], [B, 1, W]), [B, W]) as tf.Tensor2D;
    return tf.matMul(norm(last, weights.finalNorm, config.normEps), weights.head) as tf.Tensor2D;
  });
  x.dispose();
  causalMask.dispose();
  return { logits, keys, values };
}

function linear(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
  return l.b === null ? tf.matMul(x, l.w) : (tf.fused.matMul({ a: x, b: l.w, bias: l.b }) as tf.Tensor2D);
}

/** GPT-2's LayerNorm over the last axis of [rows, hidden]. */
function norm(x: tf.Tensor2D, n: Norm, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  const y = tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), n.gain) as tf.Tensor2D;
  return n.bias === null ? y : tf.add(y, n.bias);
}
