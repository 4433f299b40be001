/**
 * KV-cache surgery for the engine's throughput features: the prefix K/V computed once
 * (by one causal forward, or by batch-1 decode), attached as the shared prefix every stream
 * attends to, and compaction of dead columns. Checked against the model's own decode: the
 * logits that follow must be those of a cache filled token by token.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { DecoderModel, smallConfig } from "../../../forge/model/index.js";
import { attachPrefix, compactCache, keepRows, prefillPrefix } from "../../../forge/model/prefill.js";
import { maxAbsDiff, step } from "./helpers.js";

beforeAll(async () => {
  await initBackend("wasm");
});

const model = (family: "gpt2" | "llama") =>
  DecoderModel.random(smallConfig(family, { vocabSize: 50, hiddenSize: 32, layers: 2, heads: 4, kvHeads: family === "llama" ? 2 : 4, maxPositions: 128 }), 7, { std: 0.2 });

const PREFIX = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 32];

/** Fill a batch cache with `prefix` one decode step at a time (the reference), then return the logits of `next`. */
function stepwise(m: DecoderModel, batch: number, prefix: number[], next: number[]): number[][] {
  const cache = m.createCache(batch, 64);
  prefix.forEach((t, i) => step(m, cache, new Array(batch).fill(t), new Array(batch).fill(i)));
  const rows = step(m, cache, next, new Array(batch).fill(prefix.length));
  cache.dispose();
  return rows;
}

describe.each(["gpt2", "llama"] as const)("shared prefix (%s)", (family) => {
  it("forward and decode prefills, attached as the shared prefix, give the next steps of a stepwise cache", () => {
    const m = model(family);
    const next = [1, 2, 3];
    const reference = stepwise(m, 3, PREFIX, next);
    for (const method of ["forward", "decode"] as const) {
      const source = prefillPrefix(m, PREFIX, method);
      expect(source.length).toBe(PREFIX.length);
      const cache = m.createCache(3, 64);
      attachPrefix(source, cache);
      source.dispose();
      expect(cache.length).toBe(0); // the prefix is held apart from the streams' own columns
      expect(cache.prefix!.length).toBe(PREFIX.length);
      const rows = step(m, cache, next, [PREFIX.length, PREFIX.length, PREFIX.length]);
      rows.forEach((row, b) => expect(maxAbsDiff(row, reference[b]!)).toBeLessThan(1e-4));
      cache.dispose();
    }
    m.dispose();
  });

  it("holds the prefix once, per kv head: keys transposed [D, P] and values [P, D], as decode wrote them", () => {
    const m = model(family);
    const { kvHeads: H, headDim: D } = m.config;
    const source = prefillPrefix(m, PREFIX, "decode");
    const cache = m.createCache(5, 8);
    attachPrefix(source, cache);
    const P = PREFIX.length;
    const S = source.allocated;
    for (let l = 0; l < m.config.layers; l++) {
      const k = source.keys[l]!.dataSync(); // [1, H, S, D]
      const v = source.values[l]!.dataSync(); // [1, H, D, S]
      for (let h = 0; h < H; h++) {
        expect(cache.prefix!.keys[l]![h]!.shape).toEqual([D, P]);
        expect(cache.prefix!.values[l]![h]!.shape).toEqual([P, D]);
        const kT = cache.prefix!.keys[l]![h]!.dataSync();
        const vv = cache.prefix!.values[l]![h]!.dataSync();
        for (let c = 0; c < P; c++)
          for (let d = 0; d < D; d++) {
            expect(kT[d * P + c]).toBe(k[(h * S + c) * D + d]);
            expect(vv[c * D + d]).toBe(v[(h * D + d) * S + c]);
          }
      }
    }
    source.dispose();
    cache.dispose();
    m.dispose();
  });

  it.each(["inplace", "functional"] as const)("compaction (%s cache) drops dead columns and leaves a live stream's next logits unchanged", (mode) => {
    const m = model(family);
    // Stream 0 runs 6 tokens after a 4-token shared prefix; stream 1 is held on every other
    // step (masked columns), then stream 0 finishes and its row is reset.
    const fill = () => {
      const source = prefillPrefix(m, PREFIX.slice(0, 4));
      const cache = m.createCache(2, 64, { chunk: 4, mode });
      attachPrefix(source, cache);
      source.dispose();
      const positions = [4, 4];
      for (let i = 0; i < 6; i++) {
        const active = [1, i % 2];
        step(m, cache, [5 + 2 * i, 6 + 2 * i], positions, active);
        positions[0]! += 1;
        positions[1]! += active[1]!;
      }
      cache.resetSlot(0);
      return { cache, positions };
    };
    const plain = fill();
    const before = step(m, plain.cache, [1, 2], plain.positions, [0, 1]);
    const packed = fill();
    const length = compactCache(packed.cache);
    expect(length).toBe(3); // stream 1's three own columns (the prefix is held apart)
    const row1 = packed.cache.capacity;
    expect(Array.from(packed.cache.validity.subarray(row1, row1 + 5))).toEqual([1, 1, 1, 0, 0]);
    expect(Array.from(packed.cache.validity.subarray(0, 5))).toEqual([0, 0, 0, 0, 0]);
    const after = step(m, packed.cache, [1, 2], packed.positions, [0, 1]);
    expect(maxAbsDiff(after[1]!, before[1]!)).toBeLessThan(1e-5);
    plain.cache.dispose();
    packed.cache.dispose();
    m.dispose();
  });
});

describe.each(["inplace", "functional"] as const)("keeping rows (%s cache)", (mode) => {
  it("drops finished streams' rows: the kept ones go on with the logits they would have had", () => {
    const m = model("llama");
    // Three streams after a shared prefix, a few steps each (stream 1 held once).
    const fill = () => {
      const source = prefillPrefix(m, PREFIX.slice(0, 5));
      const cache = m.createCache(3, 32, { chunk: 4, mode });
      attachPrefix(source, cache);
      source.dispose();
      for (let i = 0; i < 5; i++) step(m, cache, [7 + i, 20 + i, 40 - i], [5 + i, 5 + Math.min(i, 3), 5 + i], [1, i === 4 ? 0 : 1, 1]);
      return cache;
    };
    const full = fill();
    const before = step(m, full, [1, 2, 3], [10, 9, 10]);
    const kept = keepRows(fill(), [2, 0]);
    expect(kept.batch).toBe(2);
    expect(kept.prefix!.length).toBe(5);
    const after = step(m, kept, [3, 1], [10, 10]);
    expect(maxAbsDiff(after[0]!, before[2]!)).toBeLessThan(1e-6);
    expect(maxAbsDiff(after[1]!, before[0]!)).toBeLessThan(1e-6);
    expect(() => keepRows(kept, [2])).toThrow(/row 2 is outside the batch/);
    full.dispose();
    kept.dispose();
    m.dispose();
  });
});

describe("prefill errors", () => {
  it("says what is wrong with a bad prefix or target", () => {
    const m = model("gpt2");
    expect(() => prefillPrefix(m, [])).toThrow(/no tokens/);
    const source = prefillPrefix(m, PREFIX);
    const two = m.createCache(2, 8);
    expect(() => attachPrefix(two, m.createCache(2, 8))).toThrow(/must hold one stream/);
    attachPrefix(source, two);
    expect(() => attachPrefix(source, two)).toThrow(/already holds 0 columns and a prefix/);
    source.dispose();
    two.dispose();
    m.dispose();
  });
});
