/**
 * The in-process baseline: GPT-2 decode written the obvious tfjs way — K/V appended by
 * concat on [B, H, S, D], attention by batched matMul (transposed K), the tied head as
 * matMul(x, wte, false, true). Same weights as a DecoderModel; same logits.
 */
import * as tf from "@tensorflow/tfjs";
import type { DecoderModel } from "../../forge/model/index.js";

export interface NaiveCache {
  k: tf.Tensor4D[];
  v: tf.Tensor4D[];
}

export function naiveCache(model: DecoderModel, batch: number): NaiveCache {
  const { layers, heads, headDim } = model.config;
  return {
    k: Array.from({ length: layers }, () => tf.zeros([batch, heads, 0, headDim]) as tf.Tensor4D),
    v: Array.from({ length: layers }, () => tf.zeros([batch, heads, 0, headDim]) as tf.Tensor4D),
  };
}

export function naiveDecode(model: DecoderModel, cache: NaiveCache, tokens: tf.Tensor1D, position: number): tf.Tensor2D {
  const { heads, headDim: D, normEps, family } = model.config;
  if (family !== "gpt2") throw new Error("the naive baseline covers GPT-2 only");
  const w = model.weights;
  const B = tokens.shape[0];
  const ln = (x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, normEps))), g), b) as tf.Tensor2D;
  };
  return tf.tidy(() => {
    let x = tf.add(tf.gather(w.tokenEmbedding, tokens), tf.gather(w.positionEmbedding!, tf.fill([B], position, "int32"))) as tf.Tensor2D;
    w.layers.forEach((l, i) => {
      const qkv = tf.add(tf.matMul(ln(x, l.attnNorm.gain, l.attnNorm.bias!), l.qkv.w), l.qkv.b!);
      const [q, k, v] = tf.split(qkv, 3, 1).map((t) => tf.transpose(tf.reshape(t, [B, 1, heads, D]), [0, 2, 1, 3]) as tf.Tensor4D);
      const K = tf.keep(tf.concat([cache.k[i]!, k!], 2) as tf.Tensor4D);
      const V = tf.keep(tf.concat([cache.v[i]!, v!], 2) as tf.Tensor4D);
      cache.k[i]!.dispose();
      cache.v[i]!.dispose();
      cache.k[i] = K;
      cache.v[i] = V;
      const att = tf.softmax(tf.mul(tf.matMul(q!, K, false, true), 1 / Math.sqrt(D)));
      const out = tf.reshape(tf.transpose(tf.matMul(att, V), [0, 2, 1, 3]), [B, heads * D]) as tf.Tensor2D;
      x = tf.add(x, tf.add(tf.matMul(out, l.attnOut.w), l.attnOut.b!));
      const h = tf.add(tf.matMul(ln(x, l.mlpNorm.gain, l.mlpNorm.bias!), l.mlpIn.w), l.mlpIn.b!);
      const g = tf.mul(tf.mul(h, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(h, tf.mul(tf.pow(h, 3), 0.044715)), Math.sqrt(2 / Math.PI)))));
      x = tf.add(x, tf.add(tf.matMul(g, l.mlpOut.w), l.mlpOut.b!));
    });
    return tf.matMul(ln(x, w.finalNorm.gain, w.finalNorm.bias!), w.tokenEmbedding, false, true) as tf.Tensor2D;
  });
}

/** Naive loop with the same shape as rawDecodeLoop (argmax, no sampler), returns tokens/s. */
export async function naiveDecodeLoop(model: DecoderModel, batch: number, steps: number, prefill = 0): Promise<{ tokensPerSecond: number; msPerStep: number }> {
  const cache = naiveCache(model, batch);
  let tokens = tf.zeros([batch], "int32") as tf.Tensor1D;
  let position = 0;
  const one = () => {
    const logits = naiveDecode(model, cache, tokens, position++);
    const next = tf.tidy(() => tf.cast(tf.argMax(logits, 1), "int32") as tf.Tensor1D);
    logits.dispose();
    tokens.dispose();
    tokens = next;
  };
  for (let i = 0; i < prefill; i++) one();
  await tokens.data();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) one();
  await tokens.data();
  const ms = performance.now() - t0;
  tokens.dispose();
  for (const t of [...cache.k, ...cache.v]) t.dispose();
  return { tokensPerSecond: (batch * steps * 1000) / ms, msPerStep: ms / steps };
}
