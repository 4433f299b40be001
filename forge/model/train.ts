/**
 * Training pieces for the decoder on the wasm backend (docs/engine.md#backend-facts):
 * - `trainableMatMul`: a matMul whose gradient uses explicit transposes, so every product of
 *   the backward pass stays a plain 2-D `[m, k] × [k, n]` on XNNPACK's fast path (tfjs's own
 *   gradient multiplies with transposed operands, which falls onto a scalar loop);
 * - `oneHotEmbed`: embedding as oneHot(ids)·W, because the wasm backend lacks the gradient
 *   kernel of `gather` (UnsortedSegmentSum);
 * - `DecoderTrainer`: next-token cross-entropy on the full causal forward, one optimizer step
 *   at a time, and a snapshot back into an inference `DecoderModel`.
 */
import * as tf from "@tensorflow/tfjs";
import { DecoderModel, type ForwardOps } from "./decoder.js";
import { ModelUsageError } from "./errors.js";
import { weightTensors, type DecoderWeights, type Linear, type Norm } from "./weights.js";

/** a·b for a [m, k], b [k, n]; gradients dA = dY·bᵀ, dB = aᵀ·dY with materialised transposes. */
export const trainableMatMul: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
      },
    };
  },
) as unknown as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** Rows of `table` [V, h] for int32 ids [n], as oneHot(ids)·table (differentiable on wasm). */
export function oneHotEmbed(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  return trainableMatMul(tf.oneHot(ids, table.shape[0]) as tf.Tensor2D, table);
}

export const TRAINING_OPS: ForwardOps = {
  linear: (x: tf.Tensor2D, l: Linear) => {
    const y = trainableMatMul(x, l.w);
    return l.b === null ? y : tf.add(y, l.b);
  },
  embed: oneHotEmbed,
  // A tied head is the embedding itself (transposed per step), so both uses train one matrix.
  head: (x, w, config) => trainableMatMul(x, config.tieEmbeddings ? tf.transpose(w.tokenEmbedding) : w.head),
};

function mapWeights(w: DecoderWeights, f: (t: tf.Tensor) => tf.Tensor, tiedHead: boolean): DecoderWeights {
  const lin = (l: Linear): Linear => ({ w: f(l.w) as tf.Tensor2D, b: l.b === null ? null : (f(l.b) as tf.Tensor1D) });
  const norm = (n: Norm): Norm => ({ gain: f(n.gain) as tf.Tensor1D, bias: n.bias === null ? null : (f(n.bias) as tf.Tensor1D) });
  const tokenEmbedding = f(w.tokenEmbedding) as tf.Tensor2D;
  return {
    tokenEmbedding,
    positionEmbedding: w.positionEmbedding === null ? null : (f(w.positionEmbedding) as tf.Tensor2D),
    layers: w.layers.map((l) => ({
      attnNorm: norm(l.attnNorm), qkv: lin(l.qkv), attnOut: lin(l.attnOut), mlpNorm: norm(l.mlpNorm), mlpIn: lin(l.mlpIn), mlpOut: lin(l.mlpOut),
    })),
    finalNorm: norm(w.finalNorm),
    head: tiedHead ? tokenEmbedding : (f(w.head) as tf.Tensor2D),
  };
}

/** Trains a copy of a model's weights (as tf.Variables). */
export class DecoderTrainer {
  private readonly weights: DecoderWeights;
  private readonly network: DecoderModel;
  readonly variables: tf.Variable[];

  constructor(
    model: DecoderModel,
    readonly optimizer: tf.Optimizer = tf.train.adam(1e-3),
  ) {
    const tied = model.config.tieEmbeddings;
    // With tied embeddings the head is not a variable of its own: TRAINING_OPS derives it.
    this.weights = mapWeights(model.weights, (t) => tf.variable(t), tied);
    this.variables = weightTensors(this.weights).filter((t, i, all) => all.indexOf(t) === i) as tf.Variable[];
    this.network = new DecoderModel(`${model.name}-training`, model.config, this.weights);
  }

  /** Mean next-token cross-entropy over sequences [N, T] (predict token t+1 from ≤ t). */
  loss(sequences: number[][]): tf.Scalar {
    const N = sequences.length;
    const T = sequences[0]?.length ?? 0;
    if (N === 0 || T < 2) throw new ModelUsageError("DecoderTrainer.loss: need at least one sequence of 2 or more tokens");
    const V = this.network.config.vocabSize;
    sequences.forEach((s, i) => {
      if (s.length !== T) throw new ModelUsageError(`DecoderTrainer.loss: sequence ${i} has ${s.length} tokens, sequence 0 has ${T}`);
      s.forEach((t, j) => {
        if (!Number.isInteger(t) || t < 0 || t >= V) throw new ModelUsageError(`DecoderTrainer.loss: token ${t} at sequence ${i}, index ${j} is outside the vocabulary (0..${V - 1})`);
      });
    });
    return tf.tidy(() => {
      const inputs = tf.tensor2d(sequences.map((s) => s.slice(0, -1)), [N, T - 1], "int32");
      const targets = tf.tensor1d(sequences.flatMap((s) => s.slice(1)), "int32");
      const logits = tf.reshape(this.network.forwardIds(inputs, TRAINING_OPS), [N * (T - 1), V]);
      const logProbs = tf.logSoftmax(logits);
      return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(targets, V), logProbs), 1))) as tf.Scalar;
    });
  }

  /** One optimizer step on a batch; returns the loss before the step. */
  step(sequences: number[][]): number {
    const cost = this.optimizer.minimize(() => this.loss(sequences), true, this.variables);
    const value = cost!.dataSync()[0]!;
    cost!.dispose();
    return value;
  }

  /** The current weights as a fresh inference model (the head re-derived when tied). */
  toModel(name = this.network.name.replace(/-training$/, "-trained")): DecoderModel {
    const config = this.network.config;
    const copy = mapWeights(this.weights, (t) => t.clone(), false);
    if (config.tieEmbeddings) copy.head = tf.transpose(copy.tokenEmbedding) as tf.Tensor2D;
    return new DecoderModel(name, config, copy);
  }

  dispose(): void {
    this.network.dispose(); // its weights are the variables
    this.optimizer.dispose();
  }
}
