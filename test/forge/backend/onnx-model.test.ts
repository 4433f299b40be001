/**
 * The ONNX Runtime decoder (forge/backend/onnx) against the tfjs decoder: same weights, same
 * token streams, logits within TOL at every step — held rows, rows of different lengths, a
 * shared prefix, multi-token feeding, kept rows and refilled rows included.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { DecoderModel, smallConfig, type DecoderConfig } from "../../../forge/model/index.js";
import { engineIdentity, tfjsStepModel, type StepCache, type StepModel } from "../../../forge/model/step-model.js";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { OnnxStepModel } from "../../../forge/backend/onnx/model.js";
import { INT8_BLOCK, quantizeInt8 } from "../../../forge/backend/onnx/graph.js";

beforeAll(async () => {
  await initBackend("wasm");
});

/** Float32 sums in a different order: a few ulps of logits of size ≈ 1–10. */
const TOL = 2e-4;

const families: [string, DecoderConfig][] = [
  ["gpt2", smallConfig("gpt2", { vocabSize: 97, hiddenSize: 32, heads: 4, maxPositions: 64 })],
  ["gpt2 untied, erf gelu", smallConfig("gpt2", { vocabSize: 97, hiddenSize: 32, heads: 2, tieEmbeddings: false, activation: "gelu", maxPositions: 64 })],
  ["llama", smallConfig("llama", { vocabSize: 97, hiddenSize: 32, heads: 4, maxPositions: 64 })],
  ["llama GQA + q/k/v bias + tied", smallConfig("llama", { vocabSize: 97, hiddenSize: 48, heads: 6, kvHeads: 2, attentionBias: true, tieEmbeddings: true, maxPositions: 64 })],
  // Head width 8, θ 10⁴: wavelengths 6.3, 63, 628, 6283 — with an original context of 64 (bands
  // 16 … 64) one frequency is kept, one interpolated and two divided, so every llama3 branch runs.
  ["llama, rope_scaling llama3", smallConfig("llama", { vocabSize: 97, hiddenSize: 32, heads: 4, kvHeads: 2, maxPositions: 64, ropeScaling: { kind: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 } })],
  ["llama, rope_scaling linear", smallConfig("llama", { vocabSize: 97, hiddenSize: 32, heads: 4, maxPositions: 64, ropeScaling: { kind: "linear", factor: 4 } })],
];

function rows(t: tf.Tensor2D): Float32Array {
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return data;
}

function maxDiff(a: Float32Array, b: Float32Array, rowsWanted: number[], V: number): number {
  let worst = 0;
  for (const r of rowsWanted) for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(a[r * V + v]! - b[r * V + v]!));
  return worst;
}

describe("ONNX decoder logits equal the tfjs decoder's", () => {
  const opened: OnnxStepModel[] = [];
  afterAll(() => opened.forEach((m) => m.dispose()));

  for (const [family, config] of families) {
    it(`${family}: decode with held rows and a shared prefix, then chunks, kept rows and a reset row`, async () => {
      const model = DecoderModel.random(config, 11, { std: 0.3 });
      const onnx = await OnnxStepModel.fromDecoder(model, { threads: 1, chunk: 5 });
      opened.push(onnx);
      const ref: StepModel = tfjsStepModel(model);
      const engines: [StepModel, StepCache][] = [
        [ref, ref.createCache(3, 40)],
        [onnx as unknown as StepModel, onnx.createCache(3, 40)],
      ];
      const V = config.vocabSize;
      const prefix = Int32Array.from([4, 8, 15, 16, 23]);
      for (const [m, c] of engines) m.attachPrefix(c, prefix);
      const positions = Int32Array.from([5, 5, 5]);
      let worst = 0;
      for (let t = 0; t < 12; t++) {
        const tokens = Int32Array.from([(t * 7) % V, (t * 13 + 1) % V, (t * 5 + 2) % V]);
        const active = Uint8Array.from([1, t % 3 === 0 ? 0 : 1, t % 2]);
        const out = engines.map(([m, c]) => rows(m.decode(c, tokens, positions, active)));
        worst = Math.max(worst, maxDiff(out[0]!, out[1]!, [0, 1, 2].filter((b) => active[b]), V));
        for (let b = 0; b < 3; b++) positions[b]! += active[b]!;
      }
      expect(worst).toBeLessThan(TOL);

      // Multi-token feeding: 3, 1 and 0 tokens.
      const k = 3;
      const chunk = Int32Array.from([1, 2, 3, 9, 0, 0, 0, 0, 0]);
      const counts = Int32Array.from([3, 1, 0]);
      const out = engines.map(([m, c]) => rows(m.decodeChunk(c, chunk, counts, positions, k)));
      expect(maxDiff(out[0]!, out[1]!, [0, 1], V)).toBeLessThan(TOL);
      for (let b = 0; b < 3; b++) positions[b]! += counts[b]!;
      for (const [m, c] of engines) m.compact(c);

      // Keep rows 2 and 0 (in that order), reset row 1 (it keeps the prefix), decode on.
      const kept = engines.map(([m, c]) => m.keepRows(c, [2, 0]));
      kept.forEach((c) => c.resetSlot(1));
      const keptPos = Int32Array.from([positions[2]!, 5]);
      for (let t = 0; t < 4; t++) {
        const tokens = Int32Array.from([(t * 3 + 1) % V, (t * 11 + 4) % V]);
        const o = engines.map(([m], i) => rows(m.decode(kept[i]!, tokens, keptPos, Uint8Array.from([1, 1]))));
        expect(maxDiff(o[0]!, o[1]!, [0, 1], V)).toBeLessThan(TOL);
        keptPos[0]!++;
        keptPos[1]!++;
      }
      kept.forEach((c) => c.dispose());
    });
  }
});

describe("where the ONNX engine runs", () => {
  const config = smallConfig("llama", { vocabSize: 97, hiddenSize: 32, heads: 4, maxPositions: 64 });
  // ONNX Runtime's CUDA provider is a separate library beside the binding (bench/engine/gpu.sh installs it).
  const ortBin = join(dirname(createRequire(import.meta.url).resolve("onnxruntime-node")), "..", "bin");
  const cudaInstalled = existsSync(ortBin) && readdirSync(ortBin, { recursive: true }).some((f) => String(f).includes("providers_cuda"));

  it("reports its device: cpu by default and for tfjs on wasm; auto takes CUDA only when its binaries start", async () => {
    const model = DecoderModel.random(config, 1);
    const cpu = await OnnxStepModel.fromDecoder(model);
    expect(cpu.device).toBe("cpu");
    expect(tfjsStepModel(model).device).toBe("cpu");
    expect(engineIdentity(cpu, "wasm")).toEqual({ engine: "onnxruntime", device: "cpu" });
    expect(engineIdentity(undefined, "tensorflow")).toEqual({ engine: "tfjs", device: "tensorflow" });
    const auto = await OnnxStepModel.fromDecoder(model, { provider: "auto" });
    if (!cudaInstalled) console.log(`no CUDA provider library under ${ortBin}: auto must fall back to the CPU`);
    expect(auto.device).toBe(cudaInstalled ? "cuda" : "cpu");
    model.dispose();
  });

  it("cuda without its binaries is a ModelUsageError pointing at gpu.sh; a bad FORGE_ONNX_PROVIDER names the variable", async () => {
    const model = DecoderModel.random(config, 1);
    if (cudaInstalled) console.log("CUDA provider library present: the refusal case cannot be checked here");
    else await expect(OnnxStepModel.fromDecoder(model, { provider: "cuda" })).rejects.toThrow(/CUDA execution provider did not start .*gpu.sh/);
    const saved = process.env.FORGE_ONNX_PROVIDER;
    process.env.FORGE_ONNX_PROVIDER = "tpu";
    try {
      await expect(OnnxStepModel.fromDecoder(model)).rejects.toThrow(/FORGE_ONNX_PROVIDER: unknown provider "tpu"; expected cpu, cuda or auto/);
    } finally {
      if (saved === undefined) delete process.env.FORGE_ONNX_PROVIDER;
      else process.env.FORGE_ONNX_PROVIDER = saved;
    }
    model.dispose();
  });
});

describe("8-bit weights (MatMulNBits)", () => {
  it("quantizeInt8: blocks of 32 along the input, symmetric, every weight within half a step of its value", () => {
    const K = 40, N = 3; // 2 blocks, the second padded
    const w = Float32Array.from({ length: K * N }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    for (let k = 0; k < K; k++) w[k * N + 2] = 0; // an all-zero column: scale 0
    const { q, scales } = quantizeInt8(w, K, N);
    expect(q.length).toBe(N * 2 * INT8_BLOCK);
    expect(scales.length).toBe(N * 2);
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++) {
        const b = Math.floor(k / INT8_BLOCK);
        const scale = scales[n * 2 + b]!;
        const back = (q[(n * 2 + b) * INT8_BLOCK + (k % INT8_BLOCK)]! - 128) * scale;
        expect(Math.abs(back - w[k * N + n]!)).toBeLessThanOrEqual(scale / 2 + 1e-7);
      }
    expect(scales[2 * 2]).toBe(0);
    expect(q[(0 * 2 + 1) * INT8_BLOCK + 8]).toBe(128); // padding past K holds the zero point
  });

  it("an int8 graph's logits stay near the f32 graph's and pick the same tokens", async () => {
    const config = smallConfig("llama", { vocabSize: 97, hiddenSize: 64, heads: 4, kvHeads: 2, maxPositions: 64, ropeScaling: { kind: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 } });
    const model = DecoderModel.random(config, 3, { std: 0.1 });
    const [f32, int8] = [await OnnxStepModel.fromDecoder(model, { weights: "f32" }), await OnnxStepModel.fromDecoder(model, { weights: "int8" })];
    const caches = [f32.createCache(4, 32), int8.createCache(4, 32)];
    const positions = new Int32Array(4);
    let worst = 0, largest = 0, same = 0, total = 0;
    for (let t = 0; t < 12; t++) {
      const tokens = Int32Array.from([t % 97, (t * 7 + 3) % 97, (t * 13 + 5) % 97, (t * 29 + 11) % 97]);
      const [a, b] = [rows(f32.decode(caches[0]!, tokens, positions)), rows(int8.decode(caches[1]!, tokens, positions))];
      for (let r = 0; r < 4; r++) {
        const row = (x: Float32Array) => x.subarray(r * 97, (r + 1) * 97);
        const argmax = (x: Float32Array) => x.indexOf(Math.max(...x));
        if (argmax(row(a)) === argmax(row(b))) same++;
        total++;
      }
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        largest = Math.max(largest, Math.abs(a[i]!));
      }
      positions.forEach((p, i) => (positions[i] = p + 1));
    }
    caches.forEach((c) => c.dispose());
    expect(worst).toBeGreaterThan(0); // it really is another graph
    expect(worst).toBeLessThan(0.05 * largest);
    expect(same / total).toBeGreaterThanOrEqual(0.9);
    model.dispose();
  });
});

describe("ONNX vs tfjs logits on the project's model and on 135M-wide models of each family", () => {
  /** Feeds the same two streams to both engines token by token; the largest logit difference. */
  function worstOver(model: DecoderModel, onnx: OnnxStepModel, steps: number): { worst: number; largest: number } {
    const tfjs = tfjsStepModel(model);
    const caches = [tfjs.createCache(2, steps + 1), onnx.createCache(2, steps + 1)];
    const positions = new Int32Array(2);
    const V = model.config.vocabSize;
    let worst = 0, largest = 0;
    for (let t = 0; t < steps; t++) {
      const tokens = Int32Array.from([(t * 37 + 11) % V, (t * 101 + 7) % V]);
      const a = rows(tfjs.decode(caches[0] as never, tokens, positions));
      const b = rows(onnx.decode(caches[1] as never, tokens, positions));
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        largest = Math.max(largest, Math.abs(a[i]!));
      }
      positions[0]!++;
      positions[1]!++;
    }
    caches.forEach((c) => c.dispose());
    return { worst, largest };
  }

  it(`models/forge-tiny (trained): within ${TOL} at every step of 48`, async () => {
    const { loadModel } = await import("../../../forge/model/index.js");
    const { model } = await loadModel("models/forge-tiny");
    const onnx = await OnnxStepModel.fromDecoder(model);
    const { worst, largest } = worstOver(model, onnx, 48);
    expect(largest).toBeGreaterThan(1); // real logits, not near-zero ones
    expect(worst).toBeLessThan(TOL);
    model.dispose();
  }, 60_000);

  // SmolLM2-135M's widths (Llama) and GPT-2 small's (124M): two layers and an 8 192-token
  // vocabulary each, so the test stays short on a shared machine (the full shapes: bench/engine).
  const wide: [string, DecoderConfig][] = [
    ["llama (SmolLM2-135M widths, GQA 9/3)", smallConfig("llama", { vocabSize: 8_192, hiddenSize: 576, layers: 2, heads: 9, kvHeads: 3, headDim: 64, intermediateSize: 1_536, maxPositions: 128, ropeTheta: 100_000, tieEmbeddings: true })],
    ["gpt2 (GPT-2 small widths)", smallConfig("gpt2", { vocabSize: 8_192, hiddenSize: 768, layers: 2, heads: 12, maxPositions: 128 })],
  ];
  for (const [label, config] of wide)
    it(`${label}: within ${TOL} at every step of 12`, async () => {
      const model = DecoderModel.random(config, 5, { std: 0.05 });
      const onnx = await OnnxStepModel.fromDecoder(model);
      const { worst, largest } = worstOver(model, onnx, 12);
      expect(largest).toBeGreaterThan(0.1);
      expect(worst).toBeLessThan(TOL);
      model.dispose();
    }, 120_000);
});
