/**
 * The host-orchestrated baseline's prefill must compute what the model computes: its last
 * logits equal `forward`'s, and `decode` continuing from its cache equals `forward` on the
 * longer sequence — otherwise the baseline would not be doing the model's real work.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { DecoderModel, smallConfig } from "../../../forge/model/index.js";
import { initBackend } from "../../../forge/backend/index.js";
import { prefill } from "../../../bench/ttfa/prefill.js";

let model: DecoderModel;
beforeAll(async () => {
  await initBackend("wasm");
  model = DecoderModel.random(smallConfig("gpt2", { vocabSize: 97, hiddenSize: 32, layers: 2, heads: 4, maxPositions: 64 }), 7, { std: 0.2 });
});

const contexts = [Int32Array.from([5, 9, 1, 44, 3, 17, 96]), Int32Array.from([0, 2, 4, 6, 8, 10, 12])];

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe("prefill", () => {
  it("gives forward's logits at the last position", () => {
    const { logits, cache } = prefill(model, contexts, 4);
    const full = model.forward(contexts.map((c) => Array.from(c)));
    const last = tf.squeeze(tf.slice(full, [0, 6, 0], [2, 1, 97]), [1]);
    expect(cache.length).toBe(7);
    expect(maxDiff(logits, last)).toBeLessThan(1e-4);
    [logits, full, last].forEach((t) => t.dispose());
    cache.dispose();
  });

  it("leaves a cache that decode continues exactly like forward", () => {
    const { logits, cache } = prefill(model, contexts, 4);
    logits.dispose();
    const next = [33, 71];
    const out = model.decode(cache, tf.tensor1d(next, "int32"), Int32Array.from([7, 7]));
    const full = model.forward(contexts.map((c, b) => [...c, next[b]!]));
    const last = tf.squeeze(tf.slice(full, [0, 7, 0], [2, 1, 97]), [1]);
    expect(maxDiff(out, last)).toBeLessThan(1e-4);
    [out, full, last].forEach((t) => t.dispose());
    cache.dispose();
  });

  it("gives the same result when the streams are encoded in separate groups", () => {
    const whole = prefill(model, contexts, 2);
    const grouped = prefill(model, contexts, 2, { rowsPerGroup: 7 }); // one stream per group
    expect(maxDiff(whole.logits, grouped.logits)).toBeLessThan(1e-5);
    for (let l = 0; l < 2; l++) {
      expect(grouped.cache.keys[l]!.shape).toEqual([2, 4, 9, 8]);
      expect(maxDiff(whole.cache.keys[l]!, grouped.cache.keys[l]!)).toBeLessThan(1e-5);
      expect(maxDiff(whole.cache.values[l]!, grouped.cache.values[l]!)).toBeLessThan(1e-5);
    }
    [whole, grouped].forEach((p) => {
      p.logits.dispose();
      p.cache.dispose();
    });
  });

  it("allocates cache columns in the engine's chunks and grows from there", () => {
    const { logits, cache } = prefill(model, contexts, 40, { chunk: 4 });
    expect(cache.allocated).toBe(8); // 7 columns rounded up to whole chunks of 4
    logits.dispose();
    const out = model.decode(cache, tf.tensor1d([1, 2], "int32"), Int32Array.from([7, 7]));
    out.dispose();
    model.decode(cache, tf.tensor1d([3, 4], "int32"), Int32Array.from([8, 8])).dispose();
    expect(cache.allocated).toBe(12);
    expect(cache.length).toBe(9);
    cache.dispose();
  });

  it("refuses contexts of different lengths, naming the context", () => {
    expect(() => prefill(model, [Int32Array.from([1, 2]), Int32Array.from([1])], 1)).toThrow(/context 1 has 1 tokens/);
  });
});
