/**
 * The decoder's weights in the layout the wasm backend is fast with: every weight product
 * is a 2-D `[rows, in] × [in, out]` matMul (weights pre-transposed to [in, out]); q/k/v are
 * fused into one product and so are the SwiGLU gate and up projections. This file also
 * maps that layout to and from Hugging Face tensor names (GPT-2 Conv1D weights are already
 * [in, out]; Llama Linear weights are [out, in] and get transposed).
 */
import * as tf from "@tensorflow/tfjs";
import type { DecoderConfig } from "./config.js";
import { ModelFormatError } from "./errors.js";

export interface Linear {
  /** [in, out] */
  w: tf.Tensor2D;
  b: tf.Tensor1D | null;
}
export interface Norm {
  gain: tf.Tensor1D;
  /** LayerNorm bias (GPT-2); null for RMSNorm. */
  bias: tf.Tensor1D | null;
}
export interface LayerWeights {
  attnNorm: Norm;
  /** [hidden, (heads + 2·kvHeads)·headDim]: q | k | v. */
  qkv: Linear;
  /** [heads·headDim, hidden]. */
  attnOut: Linear;
  mlpNorm: Norm;
  /** GPT-2: [hidden, intermediate]; Llama: [hidden, 2·intermediate] = gate | up. */
  mlpIn: Linear;
  /** [intermediate, hidden]. */
  mlpOut: Linear;
}
export interface DecoderWeights {
  /** [vocab, hidden] */
  tokenEmbedding: tf.Tensor2D;
  /** Learned positions [maxPositions, hidden] (GPT-2); null with RoPE. */
  positionEmbedding: tf.Tensor2D | null;
  layers: LayerWeights[];
  finalNorm: Norm;
  /** LM head [hidden, vocab]: the transposed embedding when tied (a separate copy, so the
   * product stays a plain 2-D matMul). */
  head: tf.Tensor2D;
}

/** A source of HF tensors by name (a safetensors file or a dictionary in tests). */
export interface TensorSource {
  file: string;
  has(name: string): boolean;
  float32(name: string): { shape: number[]; data: Float32Array };
}

/** Every tensor of a weight set (for disposal, keeping, training variables). */
export function weightTensors(w: DecoderWeights): tf.Tensor[] {
  const all: (tf.Tensor | null)[] = [w.tokenEmbedding, w.positionEmbedding, w.head, w.finalNorm.gain, w.finalNorm.bias];
  for (const l of w.layers)
    for (const lin of [l.qkv, l.attnOut, l.mlpIn, l.mlpOut]) all.push(lin.w, lin.b);
  for (const l of w.layers) all.push(l.attnNorm.gain, l.attnNorm.bias, l.mlpNorm.gain, l.mlpNorm.bias);
  return all.filter((t): t is tf.Tensor => t !== null);
}

export function disposeWeights(w: DecoderWeights): void {
  for (const t of weightTensors(w)) t.dispose();
}

/** Build weights inside a tidy scope: on an error half-way, every tensor made so far is freed. */
function buildScoped(build: () => DecoderWeights): DecoderWeights {
  let result: DecoderWeights | null = null;
  tf.tidy(() => {
    const w = build();
    for (const t of weightTensors(w)) tf.keep(t);
    result = w;
  });
  return result!;
}

/** Shapes of every weight, in HF names and HF orientation, for a config. */
export function hfShapes(config: DecoderConfig): Map<string, number[]> {
  const { hiddenSize: h, vocabSize: v, heads, kvHeads, headDim: d, intermediateSize: inter } = config;
  const m = new Map<string, number[]>();
  if (config.family === "gpt2") {
    m.set("transformer.wte.weight", [v, h]);
    m.set("transformer.wpe.weight", [config.maxPositions, h]);
    for (let i = 0; i < config.layers; i++) {
      const p = `transformer.h.${i}.`;
      m.set(p + "ln_1.weight", [h]); m.set(p + "ln_1.bias", [h]);
      m.set(p + "attn.c_attn.weight", [h, 3 * h]); m.set(p + "attn.c_attn.bias", [3 * h]);
      m.set(p + "attn.c_proj.weight", [h, h]); m.set(p + "attn.c_proj.bias", [h]);
      m.set(p + "ln_2.weight", [h]); m.set(p + "ln_2.bias", [h]);
      m.set(p + "mlp.c_fc.weight", [h, inter]); m.set(p + "mlp.c_fc.bias", [inter]);
      m.set(p + "mlp.c_proj.weight", [inter, h]); m.set(p + "mlp.c_proj.bias", [h]);
    }
    m.set("transformer.ln_f.weight", [h]); m.set("transformer.ln_f.bias", [h]);
  } else {
    m.set("model.embed_tokens.weight", [v, h]);
    for (let i = 0; i < config.layers; i++) {
      const p = `model.layers.${i}.`;
      m.set(p + "input_layernorm.weight", [h]);
      m.set(p + "self_attn.q_proj.weight", [heads * d, h]);
      m.set(p + "self_attn.k_proj.weight", [kvHeads * d, h]);
      m.set(p + "self_attn.v_proj.weight", [kvHeads * d, h]);
      if (config.attentionBias) {
        m.set(p + "self_attn.q_proj.bias", [heads * d]);
        m.set(p + "self_attn.k_proj.bias", [kvHeads * d]);
        m.set(p + "self_attn.v_proj.bias", [kvHeads * d]);
      }
      m.set(p + "self_attn.o_proj.weight", [h, heads * d]);
      m.set(p + "post_attention_layernorm.weight", [h]);
      m.set(p + "mlp.gate_proj.weight", [inter, h]);
      m.set(p + "mlp.up_proj.weight", [inter, h]);
      m.set(p + "mlp.down_proj.weight", [h, inter]);
    }
    m.set("model.norm.weight", [h]);
  }
  if (!config.tieEmbeddings) m.set("lm_head.weight", [v, h]);
  return m;
}

/** GPT-2 checkpoints are saved with or without the "transformer." prefix. */
function resolveName(source: TensorSource, name: string): string {
  if (source.has(name)) return name;
  if (name.startsWith("transformer.") && source.has(name.slice("transformer.".length))) return name.slice("transformer.".length);
  return name;
}

/**
 * Build weights from HF tensors: checks every name and shape, transposes Linear weights,
 * fuses q/k/v and gate/up. Errors name the file and the tensor.
 */
export function weightsFromHf(config: DecoderConfig, source: TensorSource): DecoderWeights {
  return buildScoped(() => buildFromHf(config, source));
}

function buildFromHf(config: DecoderConfig, source: TensorSource): DecoderWeights {
  const shapes = hfShapes(config);
  const get = (name: string): tf.Tensor => {
    const expected = shapes.get(name)!;
    const actual = resolveName(source, name);
    if (!source.has(actual)) throw new ModelFormatError(source.file, name, `tensor missing (expected shape [${expected.join(", ")}])`);
    const t = source.float32(actual);
    if (t.shape.length !== expected.length || t.shape.some((s, i) => s !== expected[i]))
      throw new ModelFormatError(source.file, actual, `shape [${t.shape.join(", ")}] does not match config.json (expected [${expected.join(", ")}])`);
    return tf.tensor(t.data, t.shape, "float32");
  };
  const vec = (name: string) => get(name) as tf.Tensor1D;
  const mat = (name: string) => get(name) as tf.Tensor2D;
  /** HF Linear [out, in] → ours [in, out]. */
  const linT = (name: string) => tf.tidy(() => tf.transpose(get(name)) as tf.Tensor2D);

  const layers: LayerWeights[] = [];
  if (config.family === "gpt2") {
    for (let i = 0; i < config.layers; i++) {
      const p = `transformer.h.${i}.`;
      layers.push({
        attnNorm: { gain: vec(p + "ln_1.weight"), bias: vec(p + "ln_1.bias") },
        qkv: { w: mat(p + "attn.c_attn.weight"), b: vec(p + "attn.c_attn.bias") },
        attnOut: { w: mat(p + "attn.c_proj.weight"), b: vec(p + "attn.c_proj.bias") },
        mlpNorm: { gain: vec(p + "ln_2.weight"), bias: vec(p + "ln_2.bias") },
        mlpIn: { w: mat(p + "mlp.c_fc.weight"), b: vec(p + "mlp.c_fc.bias") },
        mlpOut: { w: mat(p + "mlp.c_proj.weight"), b: vec(p + "mlp.c_proj.bias") },
      });
    }
    const tokenEmbedding = mat("transformer.wte.weight");
    return {
      tokenEmbedding,
      positionEmbedding: mat("transformer.wpe.weight"),
      layers,
      finalNorm: { gain: vec("transformer.ln_f.weight"), bias: vec("transformer.ln_f.bias") },
      head: config.tieEmbeddings ? (tf.transpose(tokenEmbedding) as tf.Tensor2D) : linT("lm_head.weight"),
    };
  }
  for (let i = 0; i < config.layers; i++) {
    const p = `model.layers.${i}.`;
    const fuse = (names: string[]) => tf.tidy(() => tf.concat(names.map((n) => tf.transpose(get(p + n))), 1) as tf.Tensor2D);
    const qkvBias = config.attentionBias
      ? tf.tidy(() => tf.concat(["q", "k", "v"].map((x) => get(`${p}self_attn.${x}_proj.bias`)), 0) as tf.Tensor1D)
      : null;
    layers.push({
      attnNorm: { gain: vec(p + "input_layernorm.weight"), bias: null },
      qkv: { w: fuse(["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"]), b: qkvBias },
      attnOut: { w: linT(p + "self_attn.o_proj.weight"), b: null },
      mlpNorm: { gain: vec(p + "post_attention_layernorm.weight"), bias: null },
      mlpIn: { w: fuse(["mlp.gate_proj.weight", "mlp.up_proj.weight"]), b: null },
      mlpOut: { w: linT(p + "mlp.down_proj.weight"), b: null },
    });
  }
  const tokenEmbedding = mat("model.embed_tokens.weight");
  return {
    tokenEmbedding,
    positionEmbedding: null,
    layers,
    finalNorm: { gain: vec("model.norm.weight"), bias: null },
    head: config.tieEmbeddings ? (tf.transpose(tokenEmbedding) as tf.Tensor2D) : linT("lm_head.weight"),
  };
}

/** The inverse of weightsFromHf: HF names, HF orientation, float32 host arrays. */
export function weightsToHf(config: DecoderConfig, w: DecoderWeights): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  const put = (name: string, t: tf.Tensor) => {
    out[name] = { shape: t.shape.slice(), data: t.dataSync() as Float32Array };
  };
  const putT = (name: string, t: tf.Tensor) => tf.tidy(() => put(name, tf.transpose(t)));
  const { heads, kvHeads, headDim: d, intermediateSize: inter } = config;
  if (config.family === "gpt2") {
    put("transformer.wte.weight", w.tokenEmbedding);
    put("transformer.wpe.weight", w.positionEmbedding!);
    w.layers.forEach((l, i) => {
      const p = `transformer.h.${i}.`;
      put(p + "ln_1.weight", l.attnNorm.gain); put(p + "ln_1.bias", l.attnNorm.bias!);
      put(p + "attn.c_attn.weight", l.qkv.w); put(p + "attn.c_attn.bias", l.qkv.b!);
      put(p + "attn.c_proj.weight", l.attnOut.w); put(p + "attn.c_proj.bias", l.attnOut.b!);
      put(p + "ln_2.weight", l.mlpNorm.gain); put(p + "ln_2.bias", l.mlpNorm.bias!);
      put(p + "mlp.c_fc.weight", l.mlpIn.w); put(p + "mlp.c_fc.bias", l.mlpIn.b!);
      put(p + "mlp.c_proj.weight", l.mlpOut.w); put(p + "mlp.c_proj.bias", l.mlpOut.b!);
    });
    put("transformer.ln_f.weight", w.finalNorm.gain); put("transformer.ln_f.bias", w.finalNorm.bias!);
  } else {
    put("model.embed_tokens.weight", w.tokenEmbedding);
    w.layers.forEach((l, i) => {
      const p = `model.layers.${i}.`;
      tf.tidy(() => {
        const [q, k, v] = tf.split(l.qkv.w, [heads * d, kvHeads * d, kvHeads * d], 1);
        putT(p + "self_attn.q_proj.weight", q!); putT(p + "self_attn.k_proj.weight", k!); putT(p + "self_attn.v_proj.weight", v!);
        if (l.qkv.b !== null) {
          const [qb, kb, vb] = tf.split(l.qkv.b, [heads * d, kvHeads * d, kvHeads * d], 0);
          put(p + "self_attn.q_proj.bias", qb!); put(p + "self_attn.k_proj.bias", kb!); put(p + "self_attn.v_proj.bias", vb!);
        }
        const [gate, up] = tf.split(l.mlpIn.w, [inter, inter], 1);
        putT(p + "mlp.gate_proj.weight", gate!); putT(p + "mlp.up_proj.weight", up!);
      });
      put(p + "input_layernorm.weight", l.attnNorm.gain);
      putT(p + "self_attn.o_proj.weight", l.attnOut.w);
      put(p + "post_attention_layernorm.weight", l.mlpNorm.gain);
      putT(p + "mlp.down_proj.weight", l.mlpOut.w);
    });
    put("model.norm.weight", w.finalNorm.gain);
  }
  if (!config.tieEmbeddings) putT("lm_head.weight", w.head);
  return out;
}

/**
 * Random weights (normal, std `std`), reproducible from `seed`. Norm gains are 1 + noise and
 * biases are non-zero so that tests exercise every parameter.
 */
export function randomWeights(config: DecoderConfig, seed: number, std: number): DecoderWeights {
  let counter = 0;
  const normal = (shape: number[], mean = 0, s = std) => tf.randomNormal(shape, mean, s, "float32", seed * 1000 + counter++);
  const { hiddenSize: h, heads, kvHeads, headDim: d, intermediateSize: inter, vocabSize: v } = config;
  const gpt2 = config.family === "gpt2";
  const norm = (): Norm => ({ gain: normal([h], 1, 0.1) as tf.Tensor1D, bias: gpt2 ? (normal([h]) as tf.Tensor1D) : null });
  const qkvOut = (heads + 2 * kvHeads) * d;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < config.layers; i++) {
    layers.push({
      attnNorm: norm(),
      qkv: { w: normal([h, qkvOut]) as tf.Tensor2D, b: gpt2 || config.attentionBias ? (normal([qkvOut]) as tf.Tensor1D) : null },
      attnOut: { w: normal([heads * d, h]) as tf.Tensor2D, b: gpt2 ? (normal([h]) as tf.Tensor1D) : null },
      mlpNorm: norm(),
      mlpIn: { w: normal([h, gpt2 ? inter : 2 * inter]) as tf.Tensor2D, b: gpt2 ? (normal([inter]) as tf.Tensor1D) : null },
      mlpOut: { w: normal([inter, h]) as tf.Tensor2D, b: gpt2 ? (normal([h]) as tf.Tensor1D) : null },
    });
  }
  const tokenEmbedding = normal([v, h]) as tf.Tensor2D;
  return {
    tokenEmbedding,
    positionEmbedding: gpt2 ? (normal([config.maxPositions, h]) as tf.Tensor2D) : null,
    layers,
    finalNorm: norm(),
    head: config.tieEmbeddings ? (tf.transpose(tokenEmbedding) as tf.Tensor2D) : (normal([h, v]) as tf.Tensor2D),
  };
}
