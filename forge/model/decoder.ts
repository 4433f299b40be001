/**
 * One decoder-only transformer for the GPT-2 family (learned positions, LayerNorm, GELU,
 * biases, tied head) and the Llama family (RoPE, RMSNorm, SwiGLU, grouped-query attention).
 *
 * Two paths share the weights and the per-token blocks (norms, MLP):
 * - `decode`: one new token per stream against the KV cache, written to the wasm backend's
 *   fast paths (2-D weight products, attention as elementwise products reduced over the
 *   last axis, cache columns written in place; a shared prefix by one 2-D product per head,
 *   attention.ts);
 * - `forward`: a plain causal pass over whole sequences with batched matMuls — the oracle
 *   for the tests and the starting point of training.
 */
import * as tf from "@tensorflow/tfjs";
import { validateConfig, type DecoderConfig } from "./config.js";
import { KvCache, defaultCacheMode, type CacheOptions } from "./cache.js";
import { ModelUsageError } from "./errors.js";
import { ropeAngle, ropeInvFreq } from "./rope.js";
import { attentionParts } from "./attention.js";
import { disposeWeights, randomWeights, type DecoderWeights, type Linear, type Norm } from "./weights.js";

const GELU_C = Math.sqrt(2 / Math.PI);

export class DecoderModel {
  /** RoPE tables [maxPositions, headDim] and the rotate-half matrix [headDim, headDim]. */
  private readonly ropeCos: tf.Tensor2D | null;
  private readonly ropeSin: tf.Tensor2D | null;
  private readonly rotateHalf: tf.Tensor2D | null;
  /** Per layer, the fused q|k|v weight cut by columns (qkvProjections). */
  private readonly qkvParts = new Map<number, QkvProjections>();

  /** The tfjs weights; null once released (releaseWeights). */
  private heldWeights: DecoderWeights | null;

  constructor(
    readonly name: string,
    readonly config: DecoderConfig,
    weights: DecoderWeights,
  ) {
    this.heldWeights = weights;
    validateConfig(config);
    if (config.family === "llama") {
      const { cos, sin, rotate } = ropeTables(config);
      this.ropeCos = cos;
      this.ropeSin = sin;
      this.rotateHalf = rotate;
    } else {
      this.ropeCos = this.ropeSin = this.rotateHalf = null;
    }
  }

  get weights(): DecoderWeights {
    if (this.heldWeights === null)
      throw new ModelUsageError(
        `${this.name}: its tfjs weights were released once ONNX Runtime held its own copy (makeBackend with a model folder); load the model again (loadModel) to compute with it on tfjs`,
      );
    return this.heldWeights;
  }

  /** False once releaseWeights ran: name and config remain, computing with the model throws. */
  get hasWeights(): boolean {
    return this.heldWeights !== null;
  }

  /**
   * Frees the tfjs copy of the weights (issue 17): a backend on the ONNX engine built its graph
   * from them and never reads them again, and for a model folder nobody else holds this object,
   * so keeping them would double the weights' memory. Afterwards `weights` (and with it forward,
   * decode, training) throws a ModelUsageError; name and config remain.
   */
  releaseWeights(): void {
    if (this.heldWeights === null) return;
    this.dispose();
    this.heldWeights = null;
  }

  /** A model with random weights (normal, std 0.02 unless given), reproducible from `seed`. */
  static random(config: DecoderConfig, seed: number, options: { std?: number; name?: string } = {}): DecoderModel {
    validateConfig(config);
    const name = options.name ?? `random-${config.family}-L${config.layers}-H${config.hiddenSize}-V${config.vocabSize}-seed${seed}`;
    return new DecoderModel(name, config, randomWeights(config, seed, options.std ?? 0.02));
  }

  /** A KV cache for `batch` streams and `capacity` decode steps (columns). */
  createCache(batch: number, capacity: number, options: CacheOptions = {}): KvCache {
    if (!Number.isInteger(batch) || batch < 1) throw new ModelUsageError(`createCache: batch must be a positive integer, got ${batch}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new ModelUsageError(`createCache: capacity must be a positive integer, got ${capacity}`);
    const chunk = options.chunk ?? 32;
    if (!Number.isInteger(chunk) || chunk < 1) throw new ModelUsageError(`createCache: chunk must be a positive integer, got ${chunk}`);
    const { layers, kvHeads, headDim } = this.config;
    return new KvCache(batch, capacity, layers, kvHeads, headDim, options.mode ?? defaultCacheMode(), chunk);
  }

  /** Continuous batching: stream `slot` starts afresh (its past columns are masked out). */
  resetSlot(cache: KvCache, slot: number): void {
    cache.resetSlot(slot);
  }

  /**
   * One decode step. tokens: int32 [B], the new token of each stream; positions[b]: its
   * position (for the positional encoding); active[b] = 0: stream b is held this step (its
   * column is masked out; its logits row is meaningless). Each stream attends to the cache's
   * shared prefix (if any), then to its own valid columns. Returns logits [B, vocab].
   */
  decode(cache: KvCache, tokens: tf.Tensor1D, positions: Int32Array, active?: Uint8Array): tf.Tensor2D {
    cache.checkUsable();
    const B = cache.batch;
    if (tokens.rank !== 1 || tokens.shape[0] !== B) throw new ModelUsageError(`decode: tokens must be int32 [${B}] (the cache's batch), got shape [${tokens.shape.join(", ")}]`);
    if (tokens.dtype !== "int32") throw new ModelUsageError(`decode: tokens must be int32, got ${tokens.dtype}`);
    if (positions.length !== B) throw new ModelUsageError(`decode: positions has ${positions.length} entries, the batch is ${B}`);
    if (active !== undefined && active.length !== B) throw new ModelUsageError(`decode: active has ${active.length} entries, the batch is ${B}`);
    const pos = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const live = active === undefined || active[b] !== 0;
      const p = positions[b]!;
      if (live && (p < 0 || p >= this.config.maxPositions))
        throw new ModelUsageError(`decode: stream ${b} is at position ${p}, outside the model's context (0..${this.config.maxPositions - 1})`);
      pos[b] = live ? p : 0;
    }
    cache.reserveColumn();
    const col = cache.length;
    for (let b = 0; b < B; b++) cache.validity[b * cache.capacity + col] = active === undefined || active[b] !== 0 ? 1 : 0;

    const { heads, kvHeads, headDim: D } = this.config;
    const group = heads / kvHeads;
    const logits = tf.tidy(() => {
      // gatherND with [B, 1] indices: on wasm tf.gather is ≈ 20× slower for row lookups.
      const posT = tf.tensor2d(pos, [B, 1], "int32");
      let x = tf.gatherND(this.weights.tokenEmbedding, tf.reshape(tokens, [B, 1])) as tf.Tensor2D;
      if (this.weights.positionEmbedding !== null) x = tf.add(x, tf.gatherND(this.weights.positionEmbedding, posT));
      const rope = this.ropeCos !== null ? { cos: tf.gatherND(this.ropeCos, posT), sin: tf.gatherND(this.ropeSin!, posT) } : null;
      const mask = cache.maskTensor();
      const S = mask.shape[3];
      const scale = 1 / Math.sqrt(D);
      this.weights.layers.forEach((layer, l) => {
        const h = this.norm(x, layer.attnNorm);
        const proj = this.qkvProjections(l);
        let q = tf.reshape(linear(h, proj.q), [B, heads, D]) as tf.Tensor3D;
        let k = tf.reshape(linear(h, proj.k), [B, kvHeads, D]) as tf.Tensor3D;
        if (rope !== null) {
          // x·cos + rotate_half(x)·sin, rotate_half as one 2-D product with a fixed matrix.
          const rotate = (t: tf.Tensor3D, n: number) => {
            const rotated = tf.reshape(tf.matMul(tf.reshape(t, [B * n, D]), this.rotateHalf!), [B, n, D]);
            return tf.add(tf.mul(t, tf.reshape(rope.cos, [B, 1, D])), tf.mul(rotated, tf.reshape(rope.sin, [B, 1, D]))) as tf.Tensor3D;
          };
          q = rotate(q, heads);
          k = rotate(k, kvHeads);
        }
        cache.writeColumn(l, k, tf.reshape(linear(h, proj.v), [B, kvHeads, D]));
        // scores[b, g, h, s] = Σ_d q[b, g·h, d]·K[b, g, s, d]; reduced over the last axis.
        const qs = tf.reshape(tf.mul(q, scale), [B, kvHeads, group, D]) as tf.Tensor4D;
        const k5 = tf.reshape(cache.keys[l]!, [B, kvHeads, 1, S, D]);
        const scores = tf.add(tf.sum(tf.mul(tf.reshape(qs, [B, kvHeads, group, 1, D]), k5), -1), mask) as tf.Tensor4D; // [B, kvH, group, S]
        // One softmax over the shared prefix (if any) and the stream's own columns.
        const { own, ownShare, prefixOut } = attentionParts(cache.prefix, l, qs, scores);
        const w5 = tf.reshape(own, [B, kvHeads, group, 1, S]);
        const v5 = tf.reshape(cache.values[l]!, [B, kvHeads, 1, D, S]);
        let heads4 = tf.sum(tf.mul(w5, v5), -1) as tf.Tensor4D; // [B, kvH, group, D]
        if (ownShare !== null) heads4 = tf.add(tf.mul(heads4, ownShare), prefixOut!);
        const attended = tf.reshape(heads4, [B, heads * D]) as tf.Tensor2D;
        x = tf.add(x, linear(attended, layer.attnOut));
        x = tf.add(x, this.mlp(this.norm(x, layer.mlpNorm), layer));
      });
      return tf.matMul(this.norm(x, this.weights.finalNorm), this.weights.head) as tf.Tensor2D;
    });
    cache.length = col + 1;
    return logits;
  }

  /**
   * Full causal forward over equal-length sequences, no cache. Returns logits [N, T, vocab].
   * The oracle for `decode`, and the training path.
   */
  forward(tokens: number[][]): tf.Tensor3D {
    const N = tokens.length;
    if (N === 0) throw new ModelUsageError("forward: no sequences");
    const T = tokens[0]!.length;
    if (T === 0) throw new ModelUsageError("forward: empty sequence");
    tokens.forEach((seq, i) => {
      if (seq.length !== T) throw new ModelUsageError(`forward: sequence ${i} has ${seq.length} tokens, sequence 0 has ${T} (pad to equal length)`);
      seq.forEach((t, j) => {
        if (!Number.isInteger(t) || t < 0 || t >= this.config.vocabSize) throw new ModelUsageError(`forward: token ${t} at sequence ${i}, index ${j} is outside the vocabulary (0..${this.config.vocabSize - 1})`);
      });
    });
    if (T > this.config.maxPositions) throw new ModelUsageError(`forward: ${T} tokens exceed the model's context (${this.config.maxPositions})`);
    return tf.tidy(() => this.forwardIds(tf.tensor2d(tokens.flat(), [N, T], "int32")));
  }

  /**
   * forward on an int32 [N, T] tensor (no validation; positions 0..T-1). `ops` swaps the
   * weight products, the embedding and the head for differentiable ones (train.ts).
   */
  forwardIds(ids: tf.Tensor2D, ops: ForwardOps = INFERENCE_OPS): tf.Tensor3D {
    return tf.tidy(() => {
      const [N, T] = ids.shape;
      const { heads, kvHeads, headDim: D, hiddenSize } = this.config;
      const group = heads / kvHeads;
      let x = ops.embed(this.weights.tokenEmbedding, tf.reshape(ids, [N * T]));
      if (this.weights.positionEmbedding !== null) {
        const pos = tf.slice(this.weights.positionEmbedding, [0, 0], [T, hiddenSize]);
        x = tf.reshape(tf.add(tf.reshape(x, [N, T, hiddenSize]), pos), [N * T, hiddenSize]);
      }
      const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // 1 on and below the diagonal
      const mask = tf.mul(tf.sub(1, causal), -1e9);
      const scale = 1 / Math.sqrt(D);
      for (const layer of this.weights.layers) {
        const qkv = tf.reshape(ops.linear(this.norm(x, layer.attnNorm), layer.qkv), [N, T, heads + 2 * kvHeads, D]);
        let [q, k, v] = tf.split(qkv, [heads, kvHeads, kvHeads], 2) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        if (this.ropeCos !== null) {
          const cos = tf.reshape(tf.slice(this.ropeCos, [0, 0], [T, D]), [1, T, 1, D]);
          const sin = tf.reshape(tf.slice(this.ropeSin!, [0, 0], [T, D]), [1, T, 1, D]);
          q = applyRope(q, cos, sin);
          k = applyRope(k, cos, sin);
        }
        // [N, heads, T, D]; kv heads repeated so head h uses kv head floor(h / group).
        const qh = tf.transpose(q, [0, 2, 1, 3]);
        // (concat of copies rather than a rank-5 tile: tile has no rank-5 gradient in tfjs)
        const repeat = (t: tf.Tensor4D): tf.Tensor4D => {
          const kv = tf.transpose(t, [0, 2, 1, 3]);
          if (group === 1) return kv;
          const one = tf.reshape(kv, [N, kvHeads, 1, T, D]);
          return tf.reshape(tf.concat(new Array<tf.Tensor>(group).fill(one), 2), [N, heads, T, D]);
        };
        const scores = tf.add(tf.mul(tf.matMul(qh, repeat(k), false, true), scale), mask);
        const out = tf.matMul(tf.softmax(scores), repeat(v)); // [N, heads, T, D]
        const attended = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [N * T, heads * D]) as tf.Tensor2D;
        x = tf.add(x, ops.linear(attended, layer.attnOut));
        x = tf.add(x, this.mlp(this.norm(x, layer.mlpNorm), layer, ops.linear));
      }
      const logits = ops.head(this.norm(x, this.weights.finalNorm), this.weights, this.config);
      return tf.reshape(logits, [N, T, this.config.vocabSize]) as tf.Tensor3D;
    });
  }

  /** LayerNorm (with bias) or RMSNorm (without), over the last axis of [rows, hidden].
   * A building block shared with the multi-token pass (chunk.ts). */
  norm(x: tf.Tensor2D, n: Norm): tf.Tensor2D {
    const eps = this.config.normEps;
    if (n.bias !== null) {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), n.gain), n.bias);
    }
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), n.gain);
  }

  /** The feed-forward block of one layer (shared with chunk.ts). */
  mlp(x: tf.Tensor2D, layer: DecoderWeights["layers"][number], product: typeof linear = linear): tf.Tensor2D {
    const act = activate(product(x, layer.mlpIn), this.config.activation);
    return product(act, layer.mlpOut);
  }

  /**
   * Layer l's q, k and v projections as three 2-D products. The weights are fused into one
   * [hidden, (heads + 2·kvHeads)·D] matrix (weights.ts); splitting the fused product's output
   * costs the wasm backend a copy of the whole output per part (its slice reads the whole
   * buffer), ≈ 8 % of a 16-token chunk step; the cut weights give the same sums per column.
   * Cut once per layer, kept until dispose (not for trainable variables, which change).
   */
  qkvProjections(l: number): QkvProjections {
    const cached = this.qkvParts.get(l);
    if (cached) return cached;
    const { heads, kvHeads, headDim: D } = this.config;
    const { w, b } = this.weights.layers[l]!.qkv;
    const cut = (from: number, width: number): Linear => ({
      w: tf.slice(w, [0, from], [w.shape[0], width]) as tf.Tensor2D,
      b: b === null ? null : (tf.slice(b, [from], [width]) as tf.Tensor1D),
    });
    const parts = { q: cut(0, heads * D), k: cut(heads * D, kvHeads * D), v: cut((heads + kvHeads) * D, kvHeads * D) };
    // A trainable variable changes under its cut: cut afresh, in the caller's tidy.
    if (w instanceof tf.Variable) return parts;
    for (const lin of [parts.q, parts.k, parts.v]) {
      tf.keep(lin.w);
      if (lin.b) tf.keep(lin.b);
    }
    this.qkvParts.set(l, parts);
    return parts;
  }

  dispose(): void {
    for (const p of this.qkvParts.values()) for (const lin of [p.q, p.k, p.v]) { lin.w.dispose(); lin.b?.dispose(); }
    this.qkvParts.clear();
    if (this.heldWeights !== null) disposeWeights(this.heldWeights);
    this.ropeCos?.dispose();
    this.ropeSin?.dispose();
    this.rotateHalf?.dispose();
  }
}

/** A layer's q, k and v projections (DecoderModel.qkvProjections). */
export interface QkvProjections {
  q: Linear;
  k: Linear;
  v: Linear;
}

/** The operations `forwardIds` is built from; training swaps in differentiable ones. */
export interface ForwardOps {
  /** x·W (+ b), x [rows, in]. */
  linear(x: tf.Tensor2D, l: Linear): tf.Tensor2D;
  /** Rows of the embedding table for flat int32 ids → [ids, hidden]. */
  embed(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D;
  /** Final hidden states [rows, hidden] → logits [rows, vocab]. */
  head(x: tf.Tensor2D, weights: DecoderWeights, config: DecoderConfig): tf.Tensor2D;
}

export const INFERENCE_OPS: ForwardOps = {
  linear: (x, l) => linear(x, l),
  embed: (table, ids) => tf.gatherND(table, tf.reshape(ids, [ids.shape[0], 1])) as tf.Tensor2D,
  head: (x, w) => tf.matMul(x, w.head),
};

/** x·W (+ b) as one fused 2-D product (W is [in, out]: XNNPACK's fast path). */
/** The MLP's activation on the up-projection (SwiGLU splits it into gate and up halves). */
export function activate(h: tf.Tensor2D, kind: DecoderConfig["activation"]): tf.Tensor2D {
  switch (kind) {
    case "gelu_new": {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) = x·σ(x·(2√(2/π) + 2√(2/π)·0.044715·x²)), as
      // 1 + tanh(z) = 2σ(2z): six elementwise ops instead of nine, and σ is XNNPACK's on wasm
      // where tanh runs a scalar loop (≈ 3× faster on [1024, 1024]; equal to ≈ 1e-7).
      const z = tf.mul(h, tf.add(tf.mul(tf.square(h), 2 * GELU_C * 0.044715), 2 * GELU_C));
      return tf.mul(h, tf.sigmoid(z));
    }
    case "gelu":
      return tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.mul(h, Math.SQRT1_2))));
    case "silu": {
      const [gate, up] = tf.split(h, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up);
    }
  }
}

export function linear(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
  return l.b === null ? tf.matMul(x, l.w) : (tf.fused.matMul({ a: x, b: l.w, bias: l.b }) as tf.Tensor2D);
}

/** HF rotate-half RoPE on [N, T, heads, D] with cos/sin [1, T, 1, D]. */
function applyRope(x: tf.Tensor4D, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor4D {
  const half = x.shape[3] / 2;
  const [x1, x2] = tf.split(x, [half, half], 3);
  const rotated = tf.concat([tf.neg(x2!), x1!], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}

/**
 * RoPE as in Hugging Face Llama: inv_freq[j] = θ^(-2j/D) (then rope_scaling's, rope.ts); angle = position · inv_freq,
 * repeated over both halves; rotate_half(x) = [-x₂, x₁], here as x·R with R a signed
 * permutation so decode applies it as one 2-D product.
 */
function ropeTables(config: DecoderConfig): { cos: tf.Tensor2D; sin: tf.Tensor2D; rotate: tf.Tensor2D } {
  const D = config.headDim;
  const half = D / 2;
  const P = config.maxPositions;
  const cos = new Float32Array(P * D);
  const sin = new Float32Array(P * D);
  // Computed in float32 like HF: inv_freq is float32 (scaled per rope_scaling), then position × inv_freq in float32.
  const invFreq = ropeInvFreq(config);
  for (let p = 0; p < P; p++) {
    for (let j = 0; j < half; j++) {
      const angle = ropeAngle(p, invFreq[j]!);
      cos[p * D + j] = cos[p * D + j + half] = Math.cos(angle);
      sin[p * D + j] = sin[p * D + j + half] = Math.sin(angle);
    }
  }
  const r = new Float32Array(D * D);
  for (let j = 0; j < half; j++) {
    r[(j + half) * D + j] = -1; // out[j] = -x[j + half]
    r[j * D + j + half] = 1; // out[j + half] = x[j]
  }
  return { cos: tf.tensor2d(cos, [P, D]), sin: tf.tensor2d(sin, [P, D]), rotate: tf.tensor2d(r, [D, D]) };
}
