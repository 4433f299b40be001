/**
 * RoPE inverse frequencies with rope_scaling against a reference: transformers'
 * `_compute_default_rope_parameters` and `_compute_llama3_parameters` (modeling_rope_utils.py)
 * transliterated line by line in float64, on Llama-3.2-1B's own numbers (θ 500 000, head 64,
 * factor 32, low 1, high 4, original context 8 192), plus a model that reads them from
 * config.json: its tfjs decode steps equal its full forward pass.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { configFromHf, DecoderModel, ropeInvFreq, type DecoderConfig } from "../../../forge/model/index.js";
import { maxAbsDiff, oracle, step } from "./helpers.js";

beforeAll(async () => {
  await initBackend("wasm");
});

/** transformers' functions, one statement per line of the Python, in float64. */
function referenceLlama3(base: number, dim: number, s: { factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number }): number[] {
  // inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
  const invFreq: number[] = [];
  for (let i = 0; i < dim; i += 2) invFreq.push(1 / base ** (i / dim));
  const { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings: old_context_len } = s;
  const low_freq_wavelen = old_context_len / low_freq_factor;
  const high_freq_wavelen = old_context_len / high_freq_factor;
  return invFreq.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    // inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    let llama = wavelen > low_freq_wavelen ? f / factor : f;
    // smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    const smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
    // smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    const smoothed = ((1 - smooth) * llama) / factor + smooth * llama;
    // is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    if (!(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen)) llama = smoothed;
    return llama;
  });
}

/** Llama-3.2-1B's config.json, abridged to the keys configFromHf reads. */
const LLAMA_32_1B = {
  architectures: ["LlamaForCausalLM"], attention_bias: false, head_dim: 64, hidden_act: "silu", hidden_size: 2048,
  intermediate_size: 8192, max_position_embeddings: 131072, model_type: "llama", num_attention_heads: 32,
  num_hidden_layers: 16, num_key_value_heads: 8, rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: "llama3" },
  rope_theta: 500000.0, tie_word_embeddings: true, vocab_size: 128256,
};

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

describe("ropeInvFreq", () => {
  it("matches transformers' llama3 formula on Llama-3.2-1B's config, in all three bands", () => {
    const config = configFromHf(LLAMA_32_1B);
    expect(config.ropeScaling).toEqual({ kind: "llama3", factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    const ours = ropeInvFreq(config);
    const ref = referenceLlama3(500000, 64, LLAMA_32_1B.rope_scaling);
    expect(ours.length).toBe(32);
    // float32 against float64: a few float32 ulps (2⁻²⁴ ≈ 6e-8 each).
    for (let j = 0; j < 32; j++) expect(relDiff(ours[j]!, ref[j]!)).toBeLessThan(5e-7);
    // The three bands are all present: kept (high frequencies), interpolated, divided by 32.
    const plain = ropeInvFreq({ headDim: 64, ropeTheta: 500000 });
    const kept = [...ours].filter((f, j) => f === plain[j]).length;
    const divided = [...ours].filter((f, j) => relDiff(f, plain[j]! / 32) < 1e-6).length;
    expect(kept).toBeGreaterThan(0);
    expect(divided).toBeGreaterThan(0);
    expect(kept + divided).toBeLessThan(32);
    expect(ours[0]).toBe(1);
  });

  it("linear scaling divides every frequency by the factor; no scaling is θ^(−2j/D)", () => {
    const plain = ropeInvFreq({ headDim: 16, ropeTheta: 10000 });
    for (let j = 0; j < 8; j++) expect(relDiff(plain[j]!, 10000 ** (-(2 * j) / 16))).toBeLessThan(1e-7);
    const linear = ropeInvFreq({ headDim: 16, ropeTheta: 10000, ropeScaling: { kind: "linear", factor: 4 } });
    for (let j = 0; j < 8; j++) expect(linear[j]).toBe(Math.fround(plain[j]! / 4));
  });
});

describe("configFromHf rope_scaling", () => {
  const base = { ...LLAMA_32_1B };
  const bad = (rope_scaling: unknown) => () => configFromHf({ ...base, rope_scaling }, "m/config.json");

  it("reads linear (type or rope_type), default and null, and round-trips through configToHf", async () => {
    const { configToHf } = await import("../../../forge/model/index.js");
    expect(configFromHf({ ...base, rope_scaling: { type: "linear", factor: 2 } }).ropeScaling).toEqual({ kind: "linear", factor: 2 });
    expect(configFromHf({ ...base, rope_scaling: { rope_type: "default" } }).ropeScaling).toBeUndefined();
    expect(configFromHf({ ...base, rope_scaling: null }).ropeScaling).toBeUndefined();
    const c = configFromHf(base);
    expect(configFromHf(configToHf(c))).toEqual(c);
  });

  it("names the field of every refused rope_scaling", () => {
    expect(bad({ rope_type: "yarn", factor: 4 })).toThrow(/m\/config.json: rope_scaling.rope_type: unsupported "yarn" \(supported: default, linear, llama3\)/);
    expect(bad({ type: "dynamic", factor: 2 })).toThrow(/rope_scaling.type: unsupported "dynamic"/);
    expect(bad({ rope_type: "linear" })).toThrow(/rope_scaling.factor: expected a number ≥ 1, got undefined/);
    expect(bad({ ...LLAMA_32_1B.rope_scaling, high_freq_factor: 1 })).toThrow(/rope_scaling.high_freq_factor: must exceed low_freq_factor/);
    expect(bad({ ...LLAMA_32_1B.rope_scaling, original_max_position_embeddings: 0.5 })).toThrow(/rope_scaling.original_max_position_embeddings: expected a positive integer/);
    expect(bad("llama3")).toThrow(/rope_scaling: expected an object or null/);
  });
});

describe("a llama3-scaled model on the tfjs engine", () => {
  it("decodes step by step to its full forward pass (the scaled tables in decode, forward and chunk agree)", () => {
    const config: DecoderConfig = {
      ...configFromHf({ ...LLAMA_32_1B, hidden_size: 32, head_dim: 8, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 48, num_hidden_layers: 2, vocab_size: 61, max_position_embeddings: 64, rope_theta: 10000, rope_scaling: { ...LLAMA_32_1B.rope_scaling, original_max_position_embeddings: 64, factor: 8 } }),
    };
    const model = DecoderModel.random(config, 7, { std: 0.3 });
    const plain = DecoderModel.random({ ...config, ropeScaling: null }, 7, { std: 0.3 });
    const seq = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 32, 38, 46, 26, 43, 38, 32, 50, 28];
    const want = oracle(model, seq);
    const cache = model.createCache(1, 32);
    let worst = 0;
    seq.forEach((t, p) => (worst = Math.max(worst, maxAbsDiff(step(model, cache, [t], [p])[0]!, want[p]!))));
    cache.dispose();
    expect(worst).toBeLessThan(1e-4);
    // The scaling changes the logits (past position 0) far beyond that, so the tables carry it.
    const unscaled = oracle(plain, seq);
    expect(maxAbsDiff(unscaled[seq.length - 1]!, want[seq.length - 1]!)).toBeGreaterThan(100 * Math.max(worst, 1e-6));
    model.dispose();
    plain.dispose();
  });
});
