/**
 * KV-cache surgery for the engine's throughput features: the prefix K/V computed once
 * (by one causal forward, or by batch-1 decode), broadcast to every stream, and compaction
 * of dead columns. Checked against the model's own decode: the logits that follow must be
 * those of a cache filled token by token.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { DecoderModel, smallConfig } from "../../../forge/model/index.js";
import { broadcastPrefix, compactCache, prefillPrefix } from "../../../forge/model/prefill.js";
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
  it("forward and decode prefills give the same K/V, and the next step the same logits as a stepwise cache", () => {
    const m = model(family);
    const next = [1, 2, 3];
    const reference = stepwise(m, 3, PREFIX, next);
    for (const method of ["forward", "decode"] as const) {
      const source = prefillPrefix(m, PREFIX, method);
      expect(source.length).toBe(PREFIX.length);
      const cache = m.createCache(3, 64);
      broadcastPrefix(source, cache);
      source.dispose();
      expect(cache.length).toBe(PREFIX.length);
      const rows = step(m, cache, next, [PREFIX.length, PREFIX.length, PREFIX.length]);
      rows.forEach((row, b) => expect(maxAbsDiff(row, reference[b]!)).toBeLessThan(1e-4));
      cache.dispose();
    }
    m.dispose();
  });

  it("decode prefill laid out like the batch cache gives bit-identical K/V (traces stay exact)", () => {
    const m = model(family);
    const prefix = Array.from({ length: 40 }, (_, i) => (i * 7) % 50); // crosses chunk growths
    const stepwise = m.createCache(2, 50, { chunk: 16 });
    prefix.forEach((t, i) => step(m, stepwise, [t, t], [i, i]));
    const target = m.createCache(2, 50, { chunk: 16 });
    const source = prefillPrefix(m, prefix, "decode", target);
    broadcastPrefix(source, target);
    source.dispose();
    for (let l = 0; l < m.config.layers; l++) {
      expect(target.keys[l]!.shape).toEqual(stepwise.keys[l]!.shape);
      expect(target.keys[l]!.dataSync()).toEqual(stepwise.keys[l]!.dataSync());
      expect(target.values[l]!.dataSync()).toEqual(stepwise.values[l]!.dataSync());
    }
    stepwise.dispose();
    target.dispose();
    m.dispose();
  });

  it.each(["inplace", "functional"] as const)("compaction (%s cache) drops dead columns and leaves a live stream's next logits unchanged", (mode) => {
    const m = model(family);
    // Stream 0 runs 6 tokens after a 4-token prefix; stream 1 is held on every other step
    // (masked columns), then stream 0 finishes and its row is reset.
    const fill = () => {
      const source = prefillPrefix(m, PREFIX.slice(0, 4));
      const cache = m.createCache(2, 64, { chunk: 4, mode });
      broadcastPrefix(source, cache);
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
    const length = compactCache(packed.cache, 4);
    expect(length).toBe(4 + 3); // the pinned prefix + stream 1's three own columns
    const row1 = packed.cache.capacity;
    expect(Array.from(packed.cache.validity.subarray(row1, row1 + 8))).toEqual([1, 1, 1, 1, 1, 1, 1, 0]);
    expect(Array.from(packed.cache.validity.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const after = step(m, packed.cache, [1, 2], packed.positions, [0, 1]);
    expect(maxAbsDiff(after[1]!, before[1]!)).toBeLessThan(1e-5);
    plain.cache.dispose();
    packed.cache.dispose();
    m.dispose();
  });
});

describe("prefill errors", () => {
  it("says what is wrong with a bad prefix or target", () => {
    const m = model("gpt2");
    expect(() => prefillPrefix(m, [])).toThrow(/no tokens/);
    const source = prefillPrefix(m, PREFIX);
    const small = m.createCache(2, PREFIX.length);
    expect(() => broadcastPrefix(source, small)).toThrow(/leave no room/);
    expect(() => compactCache(small, 5)).toThrow(/pinned 5 is outside/);
    source.dispose();
    small.dispose();
    m.dispose();
  });
});
