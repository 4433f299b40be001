import { describe, expect, it } from "vitest";
import { configFromHf, configToHf, ModelFormatError, smallConfig } from "../../../forge/model/index.js";

/** The config.json of Hugging Face's "gpt2" (abridged to the keys that matter). */
const GPT2_SMALL = {
  activation_function: "gelu_new", architectures: ["GPT2LMHeadModel"], attn_pdrop: 0.1, bos_token_id: 50256,
  embd_pdrop: 0.1, eos_token_id: 50256, initializer_range: 0.02, layer_norm_epsilon: 1e-5, model_type: "gpt2",
  n_ctx: 1024, n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, resid_pdrop: 0.1, vocab_size: 50257,
};
/** TinyLlama-1.1B's config.json (abridged). */
const TINY_LLAMA = {
  architectures: ["LlamaForCausalLM"], bos_token_id: 1, eos_token_id: 2, hidden_act: "silu", hidden_size: 2048,
  initializer_range: 0.02, intermediate_size: 5632, max_position_embeddings: 2048, model_type: "llama",
  num_attention_heads: 32, num_hidden_layers: 22, num_key_value_heads: 4, rms_norm_eps: 1e-5, rope_scaling: null,
  rope_theta: 10000.0, tie_word_embeddings: false, torch_dtype: "bfloat16", vocab_size: 32000,
};

describe("configFromHf", () => {
  it("reads GPT-2 small", () => {
    expect(configFromHf(GPT2_SMALL)).toEqual({
      family: "gpt2", vocabSize: 50257, hiddenSize: 768, layers: 12, heads: 12, kvHeads: 12, headDim: 64,
      intermediateSize: 3072, maxPositions: 1024, normEps: 1e-5, ropeTheta: 10000, tieEmbeddings: true,
      activation: "gelu_new", attentionBias: true,
    });
  });

  it("reads a Llama with grouped-query attention", () => {
    expect(configFromHf(TINY_LLAMA)).toEqual({
      family: "llama", vocabSize: 32000, hiddenSize: 2048, layers: 22, heads: 32, kvHeads: 4, headDim: 64,
      intermediateSize: 5632, maxPositions: 2048, normEps: 1e-5, ropeTheta: 10000, tieEmbeddings: false,
      activation: "silu", attentionBias: false,
    });
    expect(configFromHf({ ...TINY_LLAMA, model_type: "qwen2" }).attentionBias).toBe(true);
  });

  it("round-trips through configToHf for both families", () => {
    for (const c of [smallConfig("gpt2"), smallConfig("llama", { kvHeads: 2, attentionBias: true, tieEmbeddings: true })])
      expect(configFromHf(configToHf(c))).toEqual(c);
  });

  it("names the file and the field in every error", () => {
    const bad = (json: unknown) => () => configFromHf(json, "m/config.json");
    expect(bad([])).toThrow(/m\/config.json: expected a JSON object/);
    expect(bad({})).toThrow(/m\/config.json: model_type: missing or not a string/);
    expect(bad({ model_type: "bert" })).toThrow(/model_type: unsupported "bert"/);
    const { n_embd: _drop, ...noWidth } = GPT2_SMALL;
    expect(bad(noWidth)).toThrow(/m\/config.json: n_embd: missing \(required positive integer\)/);
    expect(bad({ ...GPT2_SMALL, n_head: 7 })).toThrow(/n_head: n_embd \(768\) is not divisible by n_head \(7\)/);
    expect(bad({ ...GPT2_SMALL, vocab_size: "50257" })).toThrow(/vocab_size: expected a positive integer, got "50257"/);
    expect(bad({ ...GPT2_SMALL, activation_function: "relu" })).toThrow(/activation_function: unsupported "relu"/);
    expect(bad({ ...TINY_LLAMA, num_key_value_heads: 5 })).toThrow(/num_key_value_heads: 5 does not divide num_attention_heads \(32\)/);
    expect(bad({ ...TINY_LLAMA, rope_scaling: { type: "yarn", factor: 2 } })).toThrow(/rope_scaling.type: unsupported "yarn"/);
    expect(bad({ ...TINY_LLAMA, rms_norm_eps: -1 })).toThrow(/rms_norm_eps: expected a positive number/);
    expect(bad({ ...TINY_LLAMA, tie_word_embeddings: "no" })).toThrow(/tie_word_embeddings: expected true or false/);
    expect(bad({ ...TINY_LLAMA, hidden_act: "gelu" })).toThrow(ModelFormatError);
  });
});
