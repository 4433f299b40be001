/**
 * DecoderConfig: one configuration for the GPT-2 family (learned positions, LayerNorm, GELU,
 * tied head) and the Llama family (RoPE, RMSNorm, SwiGLU, grouped-query attention), and its
 * translation from / to Hugging Face `config.json`.
 */
import { ModelFormatError } from "./errors.js";
import type { RopeScaling } from "./rope.js";

export type ModelFamily = "gpt2" | "llama";
export type Activation = "gelu_new" | "gelu" | "silu";

export interface DecoderConfig {
  family: ModelFamily;
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads (= heads without grouped-query attention; divides heads). */
  kvHeads: number;
  /** Width of one head (usually hiddenSize / heads). */
  headDim: number;
  intermediateSize: number;
  /** Context length: learned position table size (GPT-2) or RoPE table size (Llama). */
  maxPositions: number;
  normEps: number;
  /** RoPE base (Llama); unused by GPT-2. */
  ropeTheta: number;
  /** RoPE frequency scaling (config.json `rope_scaling`: linear, llama3); absent or null: none. */
  ropeScaling?: RopeScaling | null;
  /** The LM head is the transposed token embedding. */
  tieEmbeddings: boolean;
  /** MLP activation: gelu_new (tanh approximation, GPT-2), gelu (erf), silu (SwiGLU gate, Llama). */
  activation: Activation;
  /** Biases on q/k/v projections (Llama family: Qwen2 has them; GPT-2 always has all biases). */
  attentionBias: boolean;
}

type Json = Record<string, unknown>;

function field(json: Json, file: string, key: string): unknown {
  return json[key];
}

function positiveInt(json: Json, file: string, key: string, fallback?: number): number {
  const v = field(json, file, key);
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ModelFormatError(file, key, "missing (required positive integer)");
  }
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
    throw new ModelFormatError(file, key, `expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function positiveNumber(json: Json, file: string, key: string, fallback: number): number {
  const v = field(json, file, key);
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    throw new ModelFormatError(file, key, `expected a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function bool(json: Json, file: string, key: string, fallback: boolean): boolean {
  const v = field(json, file, key);
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw new ModelFormatError(file, key, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Model types read as the Llama family (same tensor names; Qwen2 adds q/k/v biases). */
const LLAMA_TYPES = ["llama", "mistral", "qwen2"];

/**
 * Translate a Hugging Face config.json (already parsed) of a GPT-2 or Llama-family model.
 * `file` names the file in errors.
 */
export function configFromHf(json: unknown, file = "config.json"): DecoderConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new ModelFormatError(file, null, "expected a JSON object");
  const j = json as Json;
  const modelType = j["model_type"];
  if (typeof modelType !== "string")
    throw new ModelFormatError(file, "model_type", `missing or not a string (expected "gpt2" or one of ${LLAMA_TYPES.join(", ")})`);

  if (modelType === "gpt2") {
    const hiddenSize = positiveInt(j, file, "n_embd");
    const heads = positiveInt(j, file, "n_head");
    if (hiddenSize % heads !== 0)
      throw new ModelFormatError(file, "n_head", `n_embd (${hiddenSize}) is not divisible by n_head (${heads})`);
    const act = j["activation_function"] ?? "gelu_new";
    const activation: Activation =
      act === "gelu_new" || act === "gelu_pytorch_tanh" ? "gelu_new" : act === "gelu" ? "gelu" : (() => {
        throw new ModelFormatError(file, "activation_function", `unsupported ${JSON.stringify(act)} (supported: gelu_new, gelu_pytorch_tanh, gelu)`);
      })();
    if (bool(j, file, "scale_attn_by_inverse_layer_idx", false))
      throw new ModelFormatError(file, "scale_attn_by_inverse_layer_idx", "true is not supported");
    if (!bool(j, file, "scale_attn_weights", true))
      throw new ModelFormatError(file, "scale_attn_weights", "false is not supported");
    return {
      family: "gpt2",
      vocabSize: positiveInt(j, file, "vocab_size"),
      hiddenSize,
      layers: positiveInt(j, file, "n_layer"),
      heads,
      kvHeads: heads,
      headDim: hiddenSize / heads,
      intermediateSize: positiveInt(j, file, "n_inner", 4 * hiddenSize),
      maxPositions: positiveInt(j, file, "n_positions"),
      normEps: positiveNumber(j, file, "layer_norm_epsilon", 1e-5),
      ropeTheta: 10000,
      tieEmbeddings: bool(j, file, "tie_word_embeddings", true),
      activation,
      attentionBias: true,
    };
  }

  if (LLAMA_TYPES.includes(modelType)) {
    const hiddenSize = positiveInt(j, file, "hidden_size");
    const heads = positiveInt(j, file, "num_attention_heads");
    const kvHeads = positiveInt(j, file, "num_key_value_heads", heads);
    if (heads % kvHeads !== 0)
      throw new ModelFormatError(file, "num_key_value_heads", `${kvHeads} does not divide num_attention_heads (${heads})`);
    const defaultHeadDim = Number.isInteger(hiddenSize / heads) ? hiddenSize / heads : undefined;
    const headDim = positiveInt(j, file, "head_dim", defaultHeadDim);
    if (headDim % 2 !== 0) throw new ModelFormatError(file, "head_dim", `RoPE needs an even head width, got ${headDim}`);
    const act = j["hidden_act"] ?? "silu";
    if (act !== "silu") throw new ModelFormatError(file, "hidden_act", `unsupported ${JSON.stringify(act)} (supported: silu)`);
    const ropeScaling = ropeScalingFromHf(j["rope_scaling"], file);
    const sliding = j["sliding_window"];
    const useSliding = j["use_sliding_window"];
    const maxPositions = positiveInt(j, file, "max_position_embeddings");
    if (modelType === "mistral" && typeof sliding === "number" && sliding < maxPositions)
      throw new ModelFormatError(file, "sliding_window", `sliding-window attention (${sliding}) is not supported`);
    if (useSliding === true) throw new ModelFormatError(file, "use_sliding_window", "sliding-window attention is not supported");
    return {
      family: "llama",
      vocabSize: positiveInt(j, file, "vocab_size"),
      hiddenSize,
      layers: positiveInt(j, file, "num_hidden_layers"),
      heads,
      kvHeads,
      headDim,
      intermediateSize: positiveInt(j, file, "intermediate_size"),
      maxPositions,
      normEps: positiveNumber(j, file, "rms_norm_eps", 1e-6),
      ropeTheta: positiveNumber(j, file, "rope_theta", 10000),
      tieEmbeddings: bool(j, file, "tie_word_embeddings", false),
      activation: "silu",
      attentionBias: bool(j, file, "attention_bias", modelType === "qwen2"),
      ...(ropeScaling !== null ? { ropeScaling } : {}),
    };
  }
  throw new ModelFormatError(file, "model_type", `unsupported ${JSON.stringify(modelType)} (supported: gpt2, ${LLAMA_TYPES.join(", ")})`);
}

/**
 * `rope_scaling` of a Llama-family config.json: null, {rope_type|type: "default"}, "linear"
 * (factor) or "llama3" (factor, low_freq_factor, high_freq_factor,
 * original_max_position_embeddings). Other kinds (dynamic, yarn, longrope) change the attention
 * scale or depend on the sequence length, and are refused by name.
 */
function ropeScalingFromHf(v: unknown, file: string): RopeScaling | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) throw new ModelFormatError(file, "rope_scaling", `expected an object or null, got ${JSON.stringify(v)}`);
  const s = v as Json;
  const kindKey = s["rope_type"] !== undefined ? "rope_type" : "type";
  const kind = s[kindKey];
  const at = (key: string) => `rope_scaling.${key}`;
  const num = (key: string, min: number): number => {
    const x = s[key];
    if (typeof x !== "number" || !Number.isFinite(x) || x < min)
      throw new ModelFormatError(file, at(key), `expected a number ≥ ${min}, got ${JSON.stringify(x)}`);
    return x;
  };
  if (kind === "default") return null;
  if (kind === "linear") return { kind: "linear", factor: num("factor", 1) };
  if (kind === "llama3") {
    const lowFreqFactor = num("low_freq_factor", Number.MIN_VALUE);
    const highFreqFactor = num("high_freq_factor", Number.MIN_VALUE);
    if (!(highFreqFactor > lowFreqFactor))
      throw new ModelFormatError(file, at("high_freq_factor"), `must exceed low_freq_factor (${lowFreqFactor}), got ${highFreqFactor}`);
    const original = s["original_max_position_embeddings"];
    if (typeof original !== "number" || !Number.isInteger(original) || original <= 0)
      throw new ModelFormatError(file, at("original_max_position_embeddings"), `expected a positive integer, got ${JSON.stringify(original)}`);
    return { kind: "llama3", factor: num("factor", 1), lowFreqFactor, highFreqFactor, originalMaxPositions: original };
  }
  throw new ModelFormatError(file, at(kindKey), `unsupported ${JSON.stringify(kind)} (supported: default, linear, llama3)`);
}

function ropeScalingToHf(s: RopeScaling | null | undefined): Record<string, unknown> | null {
  if (s === undefined || s === null) return null;
  if (s.kind === "linear") return { rope_type: "linear", factor: s.factor };
  return {
    rope_type: "llama3",
    factor: s.factor,
    low_freq_factor: s.lowFreqFactor,
    high_freq_factor: s.highFreqFactor,
    original_max_position_embeddings: s.originalMaxPositions,
  };
}

/** The Hugging Face config.json object for a config (what `saveModel` writes). */
export function configToHf(config: DecoderConfig): Record<string, unknown> {
  if (config.family === "gpt2") {
    return {
      architectures: ["GPT2LMHeadModel"],
      model_type: "gpt2",
      vocab_size: config.vocabSize,
      n_embd: config.hiddenSize,
      n_layer: config.layers,
      n_head: config.heads,
      n_inner: config.intermediateSize,
      n_positions: config.maxPositions,
      n_ctx: config.maxPositions,
      layer_norm_epsilon: config.normEps,
      activation_function: config.activation,
      tie_word_embeddings: config.tieEmbeddings,
      torch_dtype: "float32",
    };
  }
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.layers,
    num_attention_heads: config.heads,
    num_key_value_heads: config.kvHeads,
    head_dim: config.headDim,
    intermediate_size: config.intermediateSize,
    max_position_embeddings: config.maxPositions,
    rms_norm_eps: config.normEps,
    rope_theta: config.ropeTheta,
    rope_scaling: ropeScalingToHf(config.ropeScaling),
    hidden_act: "silu",
    attention_bias: config.attentionBias,
    tie_word_embeddings: config.tieEmbeddings,
    torch_dtype: "float32",
  };
}

/** Check a config built in code (not from a file); throws naming the field. */
export function validateConfig(config: DecoderConfig, where = "DecoderConfig"): void {
  const ints: (keyof DecoderConfig)[] = ["vocabSize", "hiddenSize", "layers", "heads", "kvHeads", "headDim", "intermediateSize", "maxPositions"];
  for (const k of ints) {
    const v = config[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new ModelFormatError(where, k, `expected a positive integer, got ${JSON.stringify(v)}`);
  }
  if (config.family !== "gpt2" && config.family !== "llama") throw new ModelFormatError(where, "family", `expected "gpt2" or "llama", got ${JSON.stringify(config.family)}`);
  if (config.heads % config.kvHeads !== 0) throw new ModelFormatError(where, "kvHeads", `${config.kvHeads} does not divide heads (${config.heads})`);
  if (config.family === "gpt2" && config.kvHeads !== config.heads) throw new ModelFormatError(where, "kvHeads", "GPT-2 has no grouped-query attention (kvHeads must equal heads)");
  if (config.family === "gpt2" && config.heads * config.headDim !== config.hiddenSize) throw new ModelFormatError(where, "headDim", "GPT-2 needs heads × headDim = hiddenSize");
  if (config.family === "llama" && config.headDim % 2 !== 0) throw new ModelFormatError(where, "headDim", "RoPE needs an even head width");
  const s = config.ropeScaling;
  if (s !== undefined && s !== null) {
    if (config.family !== "llama") throw new ModelFormatError(where, "ropeScaling", "RoPE scaling applies to the Llama family only");
    if (s.kind !== "linear" && s.kind !== "llama3") throw new ModelFormatError(where, "ropeScaling.kind", `expected "linear" or "llama3", got ${JSON.stringify((s as { kind: unknown }).kind)}`);
    if (!(Number.isFinite(s.factor) && s.factor >= 1)) throw new ModelFormatError(where, "ropeScaling.factor", `expected a number ≥ 1, got ${JSON.stringify(s.factor)}`);
    if (s.kind === "llama3") {
      if (!(s.lowFreqFactor > 0 && s.highFreqFactor > s.lowFreqFactor && Number.isFinite(s.highFreqFactor)))
        throw new ModelFormatError(where, "ropeScaling", `expected 0 < lowFreqFactor < highFreqFactor, got ${s.lowFreqFactor}, ${s.highFreqFactor}`);
      if (!(Number.isInteger(s.originalMaxPositions) && s.originalMaxPositions > 0))
        throw new ModelFormatError(where, "ropeScaling.originalMaxPositions", `expected a positive integer, got ${JSON.stringify(s.originalMaxPositions)}`);
    }
  }
}

/** A config with the usual defaults for a family, for tests, benchmarks and training. */
export function smallConfig(family: ModelFamily, overrides: Partial<DecoderConfig> = {}): DecoderConfig {
  const hiddenSize = overrides.hiddenSize ?? 64;
  const heads = overrides.heads ?? 4;
  const base: DecoderConfig = {
    family,
    vocabSize: 256,
    hiddenSize,
    layers: 2,
    heads,
    kvHeads: heads,
    headDim: hiddenSize / heads,
    intermediateSize: family === "gpt2" ? 4 * hiddenSize : Math.round((8 * hiddenSize) / 3),
    maxPositions: 512,
    normEps: 1e-5,
    ropeTheta: 10000,
    tieEmbeddings: family === "gpt2",
    activation: family === "gpt2" ? "gelu_new" : "silu",
    attentionBias: family === "gpt2",
  };
  const config = { ...base, ...overrides };
  if (overrides.headDim === undefined) config.headDim = config.hiddenSize / config.heads;
  validateConfig(config);
  return config;
}
