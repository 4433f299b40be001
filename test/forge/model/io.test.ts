import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import {
  configToHf, DecoderModel, f16ToF32, f32ToBf16, f32ToF16, bf16ToF32, loadModel, readSafetensors, saveModel, smallConfig,
  writeSafetensors, type DecoderConfig, type TensorToWrite,
} from "../../../forge/model/index.js";
import { maxAbsDiff, oracle, step } from "./helpers.js";

beforeAll(async () => {
  await initBackend("wasm");
});

const TOKENIZER = { version: "1.0", model: { type: "BPE", vocab: {}, merges: [] } };
const root = mkdtempSync(join(tmpdir(), "forge-model-"));
let n = 0;
const folder = () => join(root, `m${n++}`);

const configs: [string, DecoderConfig][] = [
  ["gpt2", smallConfig("gpt2", { vocabSize: 61, hiddenSize: 24, heads: 3, maxPositions: 32 })],
  ["gpt2 untied", smallConfig("gpt2", { vocabSize: 61, hiddenSize: 24, heads: 3, maxPositions: 32, tieEmbeddings: false })],
  ["llama", smallConfig("llama", { vocabSize: 61, hiddenSize: 32, heads: 4, kvHeads: 2, maxPositions: 32 })],
  ["llama tied + bias", smallConfig("llama", { vocabSize: 61, hiddenSize: 32, heads: 4, maxPositions: 32, tieEmbeddings: true, attentionBias: true })],
];

describe("save → load in the Hugging Face layout", () => {
  for (const [name, config] of configs) {
    it(`${name}: same logits; decode on the loaded model matches its forward pass`, async () => {
      const model = DecoderModel.random(config, 8, { std: 0.3 });
      const dir = folder();
      saveModel(model, dir, TOKENIZER);
      expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))).toEqual(configToHf(config));
      const loaded = await loadModel(dir);
      expect(loaded.config).toEqual(config);
      expect(loaded.tokenizerJsonPath).toBe(join(dir, "tokenizer.json"));
      expect(JSON.parse(readFileSync(loaded.tokenizerJsonPath, "utf8"))).toEqual(TOKENIZER);
      const seq = [4, 8, 15, 16, 23, 42];
      const want = oracle(model, seq);
      const got = oracle(loaded.model, seq);
      expect(maxAbsDiff(got[5]!, want[5]!)).toBe(0);
      const cache = loaded.model.createCache(1, 8);
      let worst = 0;
      seq.forEach((t, i) => (worst = Math.max(worst, maxAbsDiff(step(loaded.model, cache, [t], [i])[0]!, want[i]!))));
      expect(worst).toBeLessThan(1e-4);
      cache.dispose();
      model.dispose();
      loaded.model.dispose();
    });
  }

  it("writes Hugging Face tensor names and orientations", () => {
    const config = configs[2]![1];
    const model = DecoderModel.random(config, 1);
    const dir = folder();
    saveModel(model, dir, TOKENIZER);
    const st = readSafetensors(join(dir, "model.safetensors"));
    expect(st.entries.get("model.layers.0.self_attn.q_proj.weight")!.shape).toEqual([32, 32]);
    expect(st.entries.get("model.layers.0.self_attn.k_proj.weight")!.shape).toEqual([16, 32]);
    expect(st.entries.get("model.layers.1.mlp.down_proj.weight")!.shape).toEqual([32, config.intermediateSize]);
    expect(st.entries.get("lm_head.weight")!.shape).toEqual([61, 32]);
    // q_proj is [out, in]: row 0 is the first output's weights = column 0 of our [in, out] matrix.
    const ours = model.weights.layers[0]!.qkv.w.arraySync();
    const q = st.float32("model.layers.0.self_attn.q_proj.weight").data;
    expect(Array.from(q.subarray(0, 32))).toEqual(ours.map((row) => Math.fround(row[0]!)));
    model.dispose();
  });
});

/** Rewrite a saved folder's weights with 16-bit floats; returns the rounding applied. */
function rewriteAs(dir: string, dtype: "F16" | "BF16"): void {
  const st = readSafetensors(join(dir, "model.safetensors"));
  const out: Record<string, TensorToWrite> = {};
  for (const name of st.entries.keys()) {
    const { shape, data } = st.float32(name);
    out[name] = { shape, data: dtype === "F16" ? f32ToF16(data) : f32ToBf16(data), dtype };
  }
  writeSafetensors(join(dir, "model.safetensors"), out);
}

describe("f16 and bf16 checkpoints", () => {
  for (const dtype of ["F16", "BF16"] as const) {
    it(`${dtype}: weights load as the exact ${dtype} values, logits stay close`, async () => {
      const config = configs[2]![1];
      const model = DecoderModel.random(config, 3, { std: 0.3 });
      const dir = folder();
      saveModel(model, dir, TOKENIZER);
      rewriteAs(dir, dtype);
      const loaded = await loadModel(dir);
      const original = model.weights.tokenEmbedding.dataSync() as Float32Array;
      const rounded = dtype === "F16" ? f16ToF32(f32ToF16(original)) : bf16ToF32(f32ToBf16(original));
      expect(Array.from(loaded.model.weights.tokenEmbedding.dataSync())).toEqual(Array.from(rounded));
      expect(maxAbsDiff(rounded, original)).toBeGreaterThan(0);
      const seq = [1, 2, 3, 4];
      const diff = maxAbsDiff(oracle(loaded.model, seq)[3]!, oracle(model, seq)[3]!);
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(dtype === "F16" ? 0.05 : 0.5);
      model.dispose();
      loaded.model.dispose();
    });
  }
});

describe("loader errors name the file and the field", () => {
  const saved = () => {
    const model = DecoderModel.random(configs[0]![1], 2);
    const dir = folder();
    saveModel(model, dir, TOKENIZER);
    model.dispose();
    return dir;
  };

  it("missing folder and files", async () => {
    await expect(loadModel(join(root, "nowhere"))).rejects.toThrow(/nowhere: model folder not found/);
    let dir = saved();
    rmSync(join(dir, "config.json"));
    await expect(loadModel(dir)).rejects.toThrow(/config.json: file missing/);
    dir = saved();
    rmSync(join(dir, "tokenizer.json"));
    await expect(loadModel(dir)).rejects.toThrow(/tokenizer.json: file missing/);
    dir = saved();
    rmSync(join(dir, "model.safetensors"));
    await expect(loadModel(dir)).rejects.toThrow(/model.safetensors: file missing/);
  });

  it("malformed config.json and mismatched tensors", async () => {
    let dir = saved();
    writeFileSync(join(dir, "config.json"), "{ not json");
    await expect(loadModel(dir)).rejects.toThrow(/config.json: not valid JSON/);
    dir = saved();
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, n_layer: 3 }));
    await expect(loadModel(dir)).rejects.toThrow(/model.safetensors: transformer.h.2.ln_1.weight: tensor missing \(expected shape \[24\]\)/);
    dir = saved();
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, n_inner: 48 }));
    await expect(loadModel(dir)).rejects.toThrow(/transformer.h.0.mlp.c_fc.weight: shape \[24, 96\] does not match config.json \(expected \[24, 48\]\)/);
    dir = saved();
    writeFileSync(join(dir, "model.safetensors"), "garbage");
    await expect(loadModel(dir)).rejects.toThrow(/model.safetensors: too short|model.safetensors: header length/);
  });

  it("accepts GPT-2 names without the transformer. prefix and sharded checkpoints", async () => {
    const dir = saved();
    const st = readSafetensors(join(dir, "model.safetensors"));
    const first: Record<string, TensorToWrite> = {};
    const second: Record<string, TensorToWrite> = {};
    const weightMap: Record<string, string> = {};
    [...st.entries.keys()].forEach((name, i) => {
      const short = name.replace(/^transformer\./, "");
      const shard = i % 2 === 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
      (i % 2 === 0 ? first : second)[short] = st.float32(name);
      weightMap[short] = shard;
    });
    const reference = await loadModel(dir);
    rmSync(join(dir, "model.safetensors"));
    writeSafetensors(join(dir, "model-00001-of-00002.safetensors"), first);
    writeSafetensors(join(dir, "model-00002-of-00002.safetensors"), second);
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const sharded = await loadModel(dir);
    expect(maxAbsDiff(oracle(sharded.model, [1, 2, 3])[2]!, oracle(reference.model, [1, 2, 3])[2]!)).toBe(0);
    renameSync(join(dir, "model-00002-of-00002.safetensors"), join(dir, "gone.safetensors"));
    await expect(loadModel(dir)).rejects.toThrow(/model-00002-of-00002.safetensors: cannot read \(ENOENT\)/);
    expect(existsSync(join(dir, "model.safetensors.index.json"))).toBe(true);
    reference.model.dispose();
    sharded.model.dispose();
    expect(tf.getBackend()).toBe("wasm");
  });
});

describe("a failed load frees what it loaded", () => {
  it("leaves no tensors behind", async () => {
    const model = DecoderModel.random(configs[2]![1], 2);
    const dir = folder();
    saveModel(model, dir, TOKENIZER);
    model.dispose();
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
    const before = tf.memory().numTensors;
    await expect(loadModel(dir)).rejects.toThrow(/model.layers.2.input_layernorm.weight: tensor missing/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
