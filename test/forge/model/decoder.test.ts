import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { DecoderModel, ModelUsageError, smallConfig, type CacheOptions, type DecoderConfig } from "../../../forge/model/index.js";
import { maxAbsDiff, oracle, step } from "./helpers.js";

beforeAll(async () => {
  await initBackend("wasm");
});

const TOL = 1e-4;
const families: [string, DecoderConfig][] = [
  ["gpt2", smallConfig("gpt2", { vocabSize: 97, hiddenSize: 32, heads: 4, maxPositions: 64 })],
  ["gpt2 untied, erf gelu", smallConfig("gpt2", { vocabSize: 97, hiddenSize: 32, heads: 2, tieEmbeddings: false, activation: "gelu", maxPositions: 64 })],
  ["llama", smallConfig("llama", { vocabSize: 97, hiddenSize: 32, heads: 4, maxPositions: 64 })],
  ["llama GQA + q/k/v bias + tied", smallConfig("llama", { vocabSize: 97, hiddenSize: 48, heads: 6, kvHeads: 2, attentionBias: true, tieEmbeddings: true, maxPositions: 64 })],
];
const caches: [string, CacheOptions][] = [
  ["inplace, growing in chunks of 3", { mode: "inplace", chunk: 3 }],
  ["inplace, preallocated", { mode: "inplace", chunk: 1000 }],
  ["functional", { mode: "functional" }],
];

describe("decode with the KV cache equals the full forward pass (within 1e-4)", () => {
  for (const [family, config] of families) {
    for (const [cacheName, cacheOptions] of caches) {
      it(`${family}, ${cacheName}`, () => {
        const model = DecoderModel.random(config, 11, { std: 0.3 });
        const seqs = [
          [5, 17, 3, 96, 0, 41, 41, 8, 12, 77],
          [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
          [90, 80, 70, 60, 50, 40, 30, 20, 10, 0],
        ];
        const expected = seqs.map((s) => oracle(model, s));
        const cache = model.createCache(3, 16, cacheOptions);
        let worst = 0;
        let spread = 0;
        for (let t = 0; t < 10; t++) {
          const rows = step(model, cache, seqs.map((s) => s[t]!), [t, t, t]);
          rows.forEach((row, b) => {
            worst = Math.max(worst, maxAbsDiff(row, expected[b]![t]!));
            spread = Math.max(spread, Math.max(...row) - Math.min(...row));
          });
        }
        expect(spread).toBeGreaterThan(1); // the logits are not trivially flat
        expect(worst).toBeLessThan(TOL);
        cache.dispose();
        model.dispose();
      });
    }
  }
});

describe("per-stream positions, held streams and continuous batching", () => {
  for (const [family, config] of families.slice(0, 4)) {
    it(`${family}: each stream sees only its own past`, () => {
      const model = DecoderModel.random(config, 5, { std: 0.3 });
      const A = [3, 14, 15, 92, 65, 35, 89, 79];
      const Bseq = [27, 18, 28, 18, 28];
      const C1 = [1, 1, 2, 3];
      const C2 = [5, 8, 13, 21, 34];
      const oa = oracle(model, A), ob = oracle(model, Bseq), oc1 = oracle(model, C1), oc2 = oracle(model, C2);
      const cache = model.createCache(3, 12, { chunk: 5 });
      // Stream 0 runs A from step 0; stream 1 waits 3 steps, then runs B; stream 1 also holds
      // at global step 5 (a tool wait). Stream 2 runs C1, is reset, and runs C2 (a new instance).
      let a = 0, b = 0, c = 0, phase2 = false;
      let worst = 0;
      for (let g = 0; g < 10; g++) {
        const bLive = g >= 3 && g !== 5 && b < Bseq.length;
        const aLive = a < A.length;
        if (!phase2 && c === C1.length) {
          model.resetSlot(cache, 2);
          phase2 = true;
          c = 0;
        }
        const cSeq = phase2 ? C2 : C1;
        const cLive = c < cSeq.length;
        const rows = step(
          model, cache,
          [aLive ? A[a]! : 0, bLive ? Bseq[b]! : 0, cLive ? cSeq[c]! : 0],
          [a, b, c],
          [aLive ? 1 : 0, bLive ? 1 : 0, cLive ? 1 : 0],
        );
        if (aLive) worst = Math.max(worst, maxAbsDiff(rows[0]!, oa[a++]!));
        if (bLive) worst = Math.max(worst, maxAbsDiff(rows[1]!, ob[b++]!));
        if (cLive) worst = Math.max(worst, maxAbsDiff(rows[2]!, (phase2 ? oc2 : oc1)[c++]!));
      }
      expect(b).toBe(Bseq.length); // waited 3 steps, held 1, ran all 5 tokens
      expect(c).toBe(C2.length);
      expect(worst).toBeLessThan(TOL);
      cache.dispose();
      model.dispose();
    });
  }
});

describe("decode: errors and resources", () => {
  const config = smallConfig("llama", { vocabSize: 50, hiddenSize: 16, heads: 2, maxPositions: 8 });

  it("reports a full cache, positions past the context and wrong shapes clearly", () => {
    const model = DecoderModel.random(config, 1);
    const cache = model.createCache(2, 2);
    step(model, cache, [1, 2], [0, 0]);
    step(model, cache, [1, 2], [1, 1]);
    expect(() => step(model, cache, [1, 2], [2, 2])).toThrow(/KV cache full: all 2 columns/);
    const big = model.createCache(2, 20);
    expect(() => step(model, big, [1, 2], [0, 8])).toThrow(/stream 1 is at position 8, outside the model's context \(0\.\.7\)/);
    expect(() => step(model, big, [1, 2, 3], [0, 0])).toThrow(ModelUsageError);
    expect(() => step(model, big, [1, 2], [0])).toThrow(/positions has 1 entries, the batch is 2/);
    expect(() => step(model, big, [1, 2], [0, 9], [1, 0])).not.toThrow(); // a held stream's position is ignored
    expect(() => model.forward([[1, 2], [3]])).toThrow(/sequence 1 has 1 tokens, sequence 0 has 2/);
    expect(() => model.forward([[1, 50]])).toThrow(/token 50 at sequence 0, index 1 is outside the vocabulary/);
    expect(() => model.resetSlot(big, 2)).toThrow(/slot 2 is outside the batch/);
    cache.dispose();
    big.dispose();
    model.dispose();
  });

  it("does not leak tensors per step; dispose frees the model and the cache", () => {
    const before = tf.memory().numTensors;
    const model = DecoderModel.random(config, 2);
    const cache = model.createCache(4, 8, { chunk: 2 });
    step(model, cache, [1, 2, 3, 4], [0, 0, 0, 0]);
    const afterOne = tf.memory().numTensors;
    for (let t = 1; t < 6; t++) step(model, cache, [1, 2, 3, 4], [t, t, t, t]);
    expect(tf.memory().numTensors).toBe(afterOne);
    cache.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("random models are reproducible from the seed", () => {
    const m1 = DecoderModel.random(config, 3);
    const m2 = DecoderModel.random(config, 3);
    const m3 = DecoderModel.random(config, 4);
    const l1 = oracle(m1, [1, 2, 3]);
    expect(maxAbsDiff(l1[2]!, oracle(m2, [1, 2, 3])[2]!)).toBe(0);
    expect(maxAbsDiff(l1[2]!, oracle(m3, [1, 2, 3])[2]!)).toBeGreaterThan(0);
    for (const m of [m1, m2, m3]) m.dispose();
  });
});
