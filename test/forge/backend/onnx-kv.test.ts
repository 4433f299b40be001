/**
 * The ONNX engine's int8 KV cache (OnnxOptions.kvCache "int8"): each stream's own columns as
 * int8 with one scale per (row, kv head, column). Against the f32 cache on the same graph
 * weights: logits near, the same next tokens, through every cache operation (shared prefix,
 * held rows, multi-token feeding, kept rows, a reset row); on the project's trained model the
 * seed example's greedy traces are identical.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { DecoderModel, loadModel, smallConfig } from "../../../forge/model/index.js";
import { OnnxStepModel } from "../../../forge/backend/onnx/model.js";
import { IO } from "../../../forge/backend/onnx/graph.js";
import { ForgeBackend } from "../../../forge/session/backend.js";
import { loadTokenizer } from "../../../forge/tokenizer/index.js";
import { seedExample } from "../engine/helpers.js";

beforeAll(async () => {
  await initBackend("wasm");
});

function rows(t: tf.Tensor2D): Float32Array {
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return data;
}

/** Largest |a − b| and |a| over the wanted rows, and how many of them pick the same argmax. */
function compare(a: Float32Array, b: Float32Array, wanted: number[], V: number) {
  let worst = 0, largest = 0, same = 0;
  for (const r of wanted) {
    let ia = 0, ib = 0;
    for (let v = 0; v < V; v++) {
      const x = a[r * V + v]!, y = b[r * V + v]!;
      worst = Math.max(worst, Math.abs(x - y));
      largest = Math.max(largest, Math.abs(x));
      if (x > a[r * V + ia]!) ia = v;
      if (y > b[r * V + ib]!) ib = v;
    }
    if (ia === ib) same++;
  }
  return { worst, largest, same, total: wanted.length };
}

describe("int8 KV cache against the f32 cache", () => {
  it("a random GQA Llama: every cache operation, logits within 2 % of their range, ≥ 95 % same argmax", async () => {
    const config = smallConfig("llama", { vocabSize: 97, hiddenSize: 48, heads: 6, kvHeads: 2, maxPositions: 64 });
    const model = DecoderModel.random(config, 7, { std: 0.3 });
    const f32 = await OnnxStepModel.fromDecoder(model, { threads: 1, chunk: 5, kvCache: "f32" });
    const int8 = await OnnxStepModel.fromDecoder(model, { threads: 1, chunk: 5, kvCache: "int8" });
    expect([f32.kvCache, int8.kvCache]).toEqual(["f32", "int8"]);
    const V = config.vocabSize;
    const caches = [f32.createCache(3, 40), int8.createCache(3, 40)];
    expect(caches[1]!.ownKeys[0]).toBeInstanceOf(Int8Array);
    expect(caches[1]!.ownValues[0]).toBeInstanceOf(Int8Array);
    const prefix = Int32Array.from([4, 8, 15, 16, 23]);
    f32.attachPrefix(caches[0]!, prefix);
    int8.attachPrefix(caches[1]!, prefix);
    const totals = { worst: 0, largest: 0, same: 0, total: 0 };
    const add = (c: ReturnType<typeof compare>) => {
      totals.worst = Math.max(totals.worst, c.worst);
      totals.largest = Math.max(totals.largest, c.largest);
      totals.same += c.same;
      totals.total += c.total;
    };
    const positions = Int32Array.from([5, 5, 5]);
    for (let t = 0; t < 14; t++) {
      const tokens = Int32Array.from([(t * 7) % V, (t * 13 + 1) % V, (t * 5 + 2) % V]);
      const active = Uint8Array.from([1, t % 3 === 0 ? 0 : 1, t % 2]);
      const [a, b] = [rows(f32.decode(caches[0]!, tokens, positions, active)), rows(int8.decode(caches[1]!, tokens, positions, active))];
      add(compare(a, b, [0, 1, 2].filter((r) => active[r]), V));
      for (let r = 0; r < 3; r++) positions[r]! += active[r]!;
    }
    // Multi-token feeding (3, 1 and 0 tokens): the cache grows past a chunk boundary in one run.
    const chunk = Int32Array.from([1, 2, 3, 9, 0, 0, 0, 0, 0]);
    const counts = Int32Array.from([3, 1, 0]);
    add(compare(rows(f32.decodeChunk(caches[0]!, chunk, counts, positions, 3)), rows(int8.decodeChunk(caches[1]!, chunk, counts, positions, 3)), [0, 1], V));
    for (let r = 0; r < 3; r++) positions[r]! += counts[r]!;
    // Keep rows 2 and 0, reset row 1, decode on.
    const kept = [f32.keepRows(caches[0]!, [2, 0]), int8.keepRows(caches[1]!, [2, 0])];
    kept.forEach((c) => c.resetSlot(1));
    const keptPos = Int32Array.from([positions[2]!, 5]);
    for (let t = 0; t < 5; t++) {
      const tokens = Int32Array.from([(t * 3 + 1) % V, (t * 11 + 4) % V]);
      add(compare(rows(f32.decode(kept[0]!, tokens, keptPos)), rows(int8.decode(kept[1]!, tokens, keptPos)), [0, 1], V));
      keptPos[0]!++;
      keptPos[1]!++;
    }
    console.log(`random GQA Llama, int8 vs f32 KV: max |Δlogit| ${totals.worst.toExponential(2)} (largest |logit| ${totals.largest.toFixed(2)}), same argmax ${totals.same}/${totals.total}`);
    expect(totals.worst).toBeGreaterThan(0); // the cache really is quantized
    expect(totals.worst).toBeLessThan(0.02 * totals.largest);
    expect(totals.same / totals.total).toBeGreaterThanOrEqual(0.95);
    kept.forEach((c) => c.dispose());
    f32.dispose();
    int8.dispose();
    model.dispose();
  });

  it("stores each column within half a step of its value; ownFeeds(row) views the row's block without a copy", async () => {
    const config = smallConfig("llama", { vocabSize: 31, hiddenSize: 32, heads: 4, kvHeads: 2, maxPositions: 32 });
    const model = DecoderModel.random(config, 2, { std: 0.3 });
    const int8 = await OnnxStepModel.fromDecoder(model, { threads: 1, chunk: 4, kvCache: "int8" });
    const cache = int8.createCache(2, 8);
    const { kvHeads: H, headDim: D } = config;
    const keys = Float32Array.from({ length: 2 * H * D }, (_, i) => Math.sin(i * 0.7) * (1 + (i % 3)));
    const values = Float32Array.from({ length: 2 * H * D }, (_, i) => Math.cos(i * 0.3) * (i % 5));
    values.fill(0, H * D, H * D + D); // row 1, head 0: an all-zero column (scale 0)
    cache.append(0, 0, 1, keys, values, 0, 1);
    cache.append(0, 1, 1, keys, values, 1, 1);
    const M = cache.columns;
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < H; h++) {
        const kScale = cache.ownKeyScales[0]![(b * H + h) * M]!;
        const vScale = cache.ownValueScales[0]![(b * H + h) * M]!;
        for (let d = 0; d < D; d++) {
          const src = (b * H + h) * D + d;
          expect(Math.abs(cache.ownKeys[0]![(b * H + h) * M * D + d]! * kScale - keys[src]!)).toBeLessThanOrEqual(kScale / 2 + 1e-7);
          expect(Math.abs(cache.ownValues[0]![((b * H + h) * D + d) * M]! * vScale - values[src]!)).toBeLessThanOrEqual(vScale / 2 + 1e-7);
        }
      }
    expect(cache.ownValueScales[0]![H * M]).toBe(0);
    const one = cache.ownFeeds(1);
    expect(one[IO.ownKeys(0)]!.dims).toEqual([1, H, M, D]);
    expect(one[IO.ownValueScales(0)]!.dims).toEqual([1, H, 1, M]);
    const view = one[IO.ownKeys(0)]!.data as Int8Array;
    expect(view.buffer).toBe(cache.ownKeys[0]!.buffer);
    expect(view.byteOffset).toBe(H * M * D);
    expect(Object.keys(cache.ownFeeds()).length).toBe(4 * config.layers);
    expect(() => cache.ownFeeds(2)).toThrow(/row 2 is outside the batch/);
    cache.dispose();
    int8.dispose();
    model.dispose();
  });

  it("ONNX Runtime's arena off (OnnxOptions.arena) computes the same logits; a bad FORGE_ONNX_ARENA names the variable", async () => {
    const config = smallConfig("llama", { vocabSize: 31, hiddenSize: 32, heads: 4, kvHeads: 2, maxPositions: 32 });
    const model = DecoderModel.random(config, 4, { std: 0.3 });
    const on = await OnnxStepModel.fromDecoder(model, { threads: 1, kvCache: "int8" });
    const off = await OnnxStepModel.fromDecoder(model, { threads: 1, kvCache: "int8", arena: false });
    const caches = [on.createCache(2, 8), off.createCache(2, 8)];
    const positions = new Int32Array(2);
    for (let t = 0; t < 5; t++) {
      const tokens = Int32Array.from([t + 1, 2 * t + 3]);
      const [a, b] = [rows(on.decode(caches[0]!, tokens, positions)), rows(off.decode(caches[1]!, tokens, positions))];
      expect(Array.from(b)).toEqual(Array.from(a));
      positions[0]!++;
      positions[1]!++;
    }
    caches.forEach((c) => c.dispose());
    const saved = process.env.FORGE_ONNX_ARENA;
    process.env.FORGE_ONNX_ARENA = "no";
    try {
      await expect(OnnxStepModel.fromDecoder(model)).rejects.toThrow(/FORGE_ONNX_ARENA: expected 0 or 1, got "no"/);
    } finally {
      if (saved === undefined) delete process.env.FORGE_ONNX_ARENA;
      else process.env.FORGE_ONNX_ARENA = saved;
    }
    on.dispose();
    off.dispose();
    model.dispose();
  });

  it("a bad FORGE_ONNX_KV names the variable", async () => {
    const model = DecoderModel.random(smallConfig("llama", { vocabSize: 31, hiddenSize: 32, heads: 4, maxPositions: 32 }), 1);
    const saved = process.env.FORGE_ONNX_KV;
    process.env.FORGE_ONNX_KV = "int4";
    try {
      await expect(OnnxStepModel.fromDecoder(model)).rejects.toThrow(/FORGE_ONNX_KV: unknown KV-cache format "int4"; expected f32 or int8/);
    } finally {
      if (saved === undefined) delete process.env.FORGE_ONNX_KV;
      else process.env.FORGE_ONNX_KV = saved;
    }
    model.dispose();
  });
});

describe("int8 KV cache on the project's model (models/forge-tiny, trained)", () => {
  it("seed example: teacher-forced logits within 5 % of their range, ≥ 99 % same next token; greedy traces identical", async () => {
    const folder = "models/forge-tiny";
    const { model } = (await loadModel(folder)) as { model: DecoderModel };
    const tokenizer = await loadTokenizer(folder);
    const f32 = await OnnxStepModel.fromDecoder(model, { kvCache: "f32" });
    const int8 = await OnnxStepModel.fromDecoder(model, { kvCache: "int8" });
    const backendOf = (step: OnnxStepModel) => new ForgeBackend({ model, tokenizer, tools: {}, backend: "wasm", engine: step }, {});
    const { factory } = seedExample(24);
    const workflow = factory();
    const options = { batchSize: 8, seed: 1, greedy: true, maxTokens: 1200 };
    const [runF, runQ] = [await backendOf(f32).run(workflow, options), await backendOf(int8).run(workflow, options)];
    const identical = runQ.streams.filter((s, i) => s.tokens.join() === runF.streams[i]!.tokens.join()).length;

    // Both caches fed the f32 run's streams token by token.
    const streams = runF.streams;
    const B = streams.length;
    const T = Math.max(...streams.map((s) => s.tokens.length));
    const V = model.config.vocabSize;
    const caches = [f32.createCache(B, T), int8.createCache(B, T)];
    const positions = new Int32Array(B);
    let worst = 0, largest = 0, same = 0, total = 0;
    for (let t = 0; t < T - 1; t++) {
      const tokens = Int32Array.from(streams, (s) => (t < s.tokens.length ? s.tokens[t]! : 0));
      const active = Uint8Array.from(streams, (s) => (t < s.tokens.length - 1 ? 1 : 0));
      const [a, b] = [rows(f32.decode(caches[0]!, tokens, positions, active)), rows(int8.decode(caches[1]!, tokens, positions, active))];
      const c = compare(a, b, streams.map((_, r) => r).filter((r) => active[r]), V);
      worst = Math.max(worst, c.worst);
      largest = Math.max(largest, c.largest);
      same += c.same;
      total += c.total;
      for (let r = 0; r < B; r++) positions[r]! += active[r]!;
    }
    caches.forEach((c) => c.dispose());
    console.log(`forge-tiny, seed example, ${B} greedy streams (≤ ${T} tokens): int8 vs f32 KV max |Δlogit| ${worst.toFixed(4)} (largest |logit| ${largest.toFixed(1)}), same next token ${same}/${total}; greedy traces identical ${identical}/${B}`);
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(0.05 * largest); // measured: 0.59 of 20.3 (2.9 %)
    expect(same / total).toBeGreaterThanOrEqual(0.99);
    expect(identical).toBe(B);
    f32.dispose();
    int8.dispose();
    model.dispose();
  }, 300_000);
});
