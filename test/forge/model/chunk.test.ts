/**
 * Multi-token decode: several tokens per stream in one forward (multi-token forced feeding)
 * must leave the cache and the logits as one-token decode steps would.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { DecoderModel, smallConfig } from "../../../forge/model/index.js";
import { decodeChunk } from "../../../forge/model/chunk.js";
import { attachPrefix, prefillPrefix } from "../../../forge/model/prefill.js";
import { maxAbsDiff, step } from "./helpers.js";

beforeAll(async () => {
  await initBackend("wasm");
});

const model = (family: "gpt2" | "llama") =>
  DecoderModel.random(smallConfig(family, { vocabSize: 50, hiddenSize: 32, layers: 2, heads: 4, kvHeads: family === "llama" ? 2 : 4, maxPositions: 128 }), 7, { std: 0.2 });

describe.each(["gpt2", "llama"] as const)("multi-token decode (%s)", (family) => {
  it.each(["inplace", "functional"] as const)("feeds several tokens per stream in one forward, with the logits and cache of one-token steps (%s cache)", (mode) => {
    const m = model(family);
    // Stream 0 feeds 3 tokens, stream 1 one, stream 2 none (held), then everyone one more.
    const chunks = [[3, 4, 5], [6], []];
    const stepwise = m.createCache(3, 64);
    step(m, stepwise, [3, 6, 0], [0, 0, 0], [1, 1, 0]);
    step(m, stepwise, [4, 0, 0], [1, 0, 0], [1, 0, 0]);
    const ref = step(m, stepwise, [5, 0, 0], [2, 0, 0], [1, 0, 0]);
    const refNext = step(m, stepwise, [7, 8, 9], [3, 1, 0], [1, 1, 1]);

    const chunked = m.createCache(3, 64, { chunk: 2, mode }); // inplace: growth inside the chunk
    const k = 3;
    const flat = new Int32Array(3 * k);
    chunks.forEach((c, b) => flat.set(c, b * k));
    const logits = decodeChunk(m, chunked, flat, Int32Array.from([3, 1, 0]), new Int32Array(3), k);
    const rows = logits.arraySync();
    logits.dispose();
    expect(chunked.length).toBe(3);
    expect(maxAbsDiff(rows[0]!, ref[0]!)).toBeLessThan(1e-4); // stream 0's last token
    const next = step(m, chunked, [7, 8, 9], [3, 1, 0], [1, 1, 1]);
    next.forEach((row, b) => expect(maxAbsDiff(row, refNext[b]!)).toBeLessThan(1e-4));
    expect(() => decodeChunk(m, chunked, flat, Int32Array.from([4, 0, 0]), new Int32Array(3), k)).toThrow(/feeds 4 tokens, the chunk holds 3/);
    stepwise.dispose();
    chunked.dispose();
    m.dispose();
  });
});

describe.each(["gpt2", "llama"] as const)("multi-token decode after a shared prefix (%s)", (family) => {
  // k = 3: batched products; k = 9: one product per (stream, kv head) on wasm (≥ 8 query rows).
  it.each([3, 9])("attends to the prefix and the own columns as one-token steps over a plain cache do (k = %i)", (k) => {
    const m = model(family);
    const prefix = [3, 14, 15, 9, 26, 5, 35];
    const P = prefix.length;
    const chunks = [Array.from({ length: k }, (_, j) => (7 + 3 * j) % 50), [6], []];
    // Reference: the prefix fed token by token into each row, then the chunk one token at a time.
    const stepwise = m.createCache(3, 64);
    prefix.forEach((t, i) => step(m, stepwise, [t, t, t], [i, i, i]));
    let ref: number[][] = [];
    for (let j = 0; j < k; j++) ref = step(m, stepwise, [chunks[0]![j]!, j === 0 ? 6 : 0, 0], [P + j, P, 0], [1, j === 0 ? 1 : 0, 0]);
    const refNext = step(m, stepwise, [1, 2, 3], [P + k, P + 1, P], [1, 1, 1]);

    const source = prefillPrefix(m, prefix, "decode");
    const chunked = m.createCache(3, 64, { chunk: 4 });
    attachPrefix(source, chunked);
    source.dispose();
    const flat = new Int32Array(3 * k);
    chunks.forEach((c, b) => flat.set(c, b * k));
    const logits = decodeChunk(m, chunked, flat, Int32Array.from([k, 1, 0]), Int32Array.from([P, P, P]), k);
    const rows = logits.arraySync();
    logits.dispose();
    expect(maxAbsDiff(rows[0]!, ref[0]!)).toBeLessThan(1e-4);
    const next = step(m, chunked, [1, 2, 3], [P + k, P + 1, P], [1, 1, 1]);
    next.forEach((row, b) => expect(maxAbsDiff(row, refNext[b]!)).toBeLessThan(1e-4));
    stepwise.dispose();
    chunked.dispose();
    m.dispose();
  });
});
