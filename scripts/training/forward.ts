/**
 * The differentiable forward pass used for training, over the model's own weight layout
 * (`DecoderWeights` from forge/model: fused q|k|v, fused gate|up, weights stored [in, out]),
 * so the trained variables are handed to `DecoderModel` and `saveModel` unchanged.
 *
 * Why not `DecoderModel.forwardIds(ids, TRAINING_OPS)`: its attention uses rank-4 batched
 * matMuls, which on wasm leave XNNPACK for a scalar loop (measured ≈ 0.5 GFLOP/s); at the
 * 2048-token windows this model trains on, attention is most of a step. Here attention runs
 * one (sequence, head) at a time, so every product — forward and backward — is a plain 2-D
 * `[m, k] × [k, n]` (forge/model's `trainableMatMul`; embedding by its `oneHotEmbed`). The
 * norms, RoPE and MLP repeat forwardIds' arithmetic.
 * The arithmetic is the same as `forwardIds` (RMSNorm, RoPE rotate-half, SwiGLU or GELU,
 * causal softmax attention, GQA); a test checks the logits agree.
 */
import * as tf from "@tensorflow/tfjs";
import type { DecoderConfig } from "../../forge/model/index.js";
import { oneHotEmbed, trainableMatMul, type DecoderWeights, type Linear, type Norm } from "../../forge/model/index.js";
import { activate } from "../../forge/model/decoder.js";
import { TrainingError } from "./errors.js";


/** forge/model's 2-D matMul with explicit-transpose gradients (XNNPACK's fast path both ways). */
const matmul2d = trainableMatMul;

function linear(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
  const y = matmul2d(x, l.w);
  return l.b === null ? y : tf.add(y, l.b);
}

function norm(x: tf.Tensor2D, n: Norm, eps: number): tf.Tensor2D {
  if (n.bias !== null) {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), n.gain), n.bias);
  }
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), n.gain);
}

/** RoPE cos/sin [T, D] for positions 0..T-1, float32 like Hugging Face (same as the model's tables). */
export function ropeTables(config: DecoderConfig, T: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const D = config.headDim;
  const half = D / 2;
  const cos = new Float32Array(T * D);
  const sin = new Float32Array(T * D);
  for (let p = 0; p < T; p++) {
    for (let j = 0; j < half; j++) {
      const invFreq = Math.fround(1 / Math.pow(config.ropeTheta, (2 * j) / D));
      const angle = Math.fround(p * invFreq);
      cos[p * D + j] = cos[p * D + j + half] = Math.cos(angle);
      sin[p * D + j] = sin[p * D + j + half] = Math.sin(angle);
    }
  }
  return { cos: tf.tensor2d(cos, [T, D]), sin: tf.tensor2d(sin, [T, D]) };
}

/** Constant tensors of one sequence length, built once and reused every step. */
export interface ForwardConstants {
  T: number;
  /** [T, T]: 0 on and below the diagonal, -1e9 above. */
  causalMask: tf.Tensor2D;
  rope: { cos: tf.Tensor; sin: tf.Tensor } | null;
}

export function forwardConstants(config: DecoderConfig, T: number): ForwardConstants {
  if (T > config.maxPositions) throw new TrainingError(`sequence length ${T} exceeds the model's context (${config.maxPositions})`);
  const causalMask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9) as tf.Tensor2D);
  const rope = config.family === "llama" ? ropeTables(config, T) : null;
  return { T, causalMask, rope };
}

export function disposeConstants(c: ForwardConstants): void {
  c.causalMask.dispose();
  c.rope?.cos.dispose();
  c.rope?.sin.dispose();
}

/** HF rotate-half RoPE on one head's [T, D] with cos/sin [T, D]. */
function applyRope(x: tf.Tensor2D, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor2D {
  const half = x.shape[1] / 2;
  const [x1, x2] = tf.split(x, [half, half], 1);
  const rotated = tf.concat([tf.neg(x2!), x1!], 1);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}

/** Columns [from, from + width) of a weight (and its bias): one head's projection. */
function headLinear(x: tf.Tensor2D, l: Linear, from: number, width: number): tf.Tensor2D {
  const w = tf.slice(l.w, [0, from], [l.w.shape[0], width]) as tf.Tensor2D;
  const y = matmul2d(x, w);
  return l.b === null ? y : tf.add(y, tf.slice(l.b, [from], [width]));
}

/**
 * Logits [N·T, vocab] for int32 ids [N, T] (positions 0..T-1). Differentiable with respect to
 * every weight tensor (make them tf.Variables to train them).
 */
export function trainingLogits(config: DecoderConfig, w: DecoderWeights, ids: tf.Tensor2D, c: ForwardConstants): tf.Tensor2D {
  const [N, T] = ids.shape;
  return raggedTrainingLogits(config, w, tf.reshape(ids, [N * T]) as tf.Tensor1D, new Array<number>(N).fill(T), c);
}

/**
 * Logits [ΣT, vocab] for sequences of different lengths laid end to end (int32 ids [ΣT]).
 * Each sequence starts at position 0 and attends only within itself, as an engine stream
 * does from the start of its workflow; so training on whole transcripts costs attention
 * Σ T² rather than that of one long window spanning several of them.
 */
export function raggedTrainingLogits(config: DecoderConfig, w: DecoderWeights, ids: tf.Tensor1D, lengths: readonly number[], c: ForwardConstants): tf.Tensor2D {
  const total = lengths.reduce((a, b) => a + b, 0);
  if (ids.shape[0] !== total) throw new TrainingError(`the sequences' lengths add up to ${total}, the batch has ${ids.shape[0]} ids`);
  const longest = Math.max(...lengths);
  if (longest > c.T) throw new TrainingError(`forward constants are for length ${c.T}, a sequence has length ${longest}`);
  const { heads, kvHeads, headDim: D, hiddenSize: H, normEps: eps } = config;
  const group = heads / kvHeads;
  const offsets = lengths.map((_, i) => lengths.slice(0, i).reduce((a, b) => a + b, 0));
  // Per-length views of the constants, shared by every sequence of that length.
  const views = new Map<number, { mask: tf.Tensor2D; cos: tf.Tensor | null; sin: tf.Tensor | null }>();
  const viewOf = (T: number) => {
    let v = views.get(T);
    if (v === undefined) {
      const cut = T === c.T;
      v = {
        mask: cut ? c.causalMask : (tf.slice(c.causalMask, [0, 0], [T, T]) as tf.Tensor2D),
        cos: c.rope === null ? null : cut ? c.rope.cos : tf.slice(c.rope.cos, [0, 0], [T, D]),
        sin: c.rope === null ? null : cut ? c.rope.sin : tf.slice(c.rope.sin, [0, 0], [T, D]),
      };
      views.set(T, v);
    }
    return v;
  };
  let x = oneHotEmbed(w.tokenEmbedding, ids);
  if (w.positionEmbedding !== null) {
    const pe = w.positionEmbedding;
    const pos = lengths.length === 1 ? tf.slice(pe, [0, 0], [lengths[0]!, H]) : tf.concat(lengths.map((T) => tf.slice(pe, [0, 0], [T, H])), 0);
    x = tf.add(x, pos);
  }
  const scale = 1 / Math.sqrt(D);
  for (const layer of w.layers) {
    // Attention one (sequence, head) at a time, every product a plain 2-D matMul: on wasm
    // this is many times faster than rank-3/4 batched products (which leave XNNPACK).
    const normed = norm(x, layer.attnNorm, eps);
    const perSequence: tf.Tensor2D[] = [];
    for (let n = 0; n < lengths.length; n++) {
      const T = lengths[n]!;
      const view = viewOf(T);
      const xn = lengths.length === 1 ? normed : (tf.slice(normed, [offsets[n]!, 0], [T, H]) as tf.Tensor2D);
      const perHead: tf.Tensor2D[] = [];
      for (let h = 0; h < heads; h++) {
        const kv = Math.floor(h / group);
        let q = headLinear(xn, layer.qkv, h * D, D);
        let k = headLinear(xn, layer.qkv, (heads + kv) * D, D);
        const v = headLinear(xn, layer.qkv, (heads + kvHeads + kv) * D, D);
        if (view.cos !== null && view.sin !== null) {
          q = applyRope(q, view.cos, view.sin);
          k = applyRope(k, view.cos, view.sin);
        }
        const scores = tf.add(matmul2d(tf.mul(q, scale), tf.transpose(k)), view.mask);
        perHead.push(matmul2d(tf.softmax(scores) as tf.Tensor2D, v));
      }
      perSequence.push(heads === 1 ? perHead[0]! : (tf.concat(perHead, 1) as tf.Tensor2D));
    }
    const attended = lengths.length === 1 ? perSequence[0]! : (tf.concat(perSequence, 0) as tf.Tensor2D);
    x = tf.add(x, linear(attended, layer.attnOut));
    const act = activate(linear(norm(x, layer.mlpNorm, eps), layer.mlpIn), config.activation);
    x = tf.add(x, linear(act, layer.mlpOut));
  }
  return matmul2d(norm(x, w.finalNorm, eps), w.head);
}

/**
 * Weighted next-token cross-entropy: mean over positions of weight · (−log p(target)), divided
 * by the sum of weights. targets int32 [N·T], weights float32 [N·T] (0: not scored).
 */
export function weightedCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  const V = logits.shape[1];
  const logProbs = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logProbs, tf.oneHot(targets, V).toFloat()), 1);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, weights))), tf.maximum(tf.sum(weights), 1e-6)) as tf.Scalar;
}
