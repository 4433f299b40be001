/** The inplace KV cache also writes into the cpu backend's buffers (the last-resort backend). */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { DecoderModel, defaultCacheMode, smallConfig } from "../../../forge/model/index.js";
import { maxAbsDiff, oracle, step } from "./helpers.js";

beforeAll(async () => {
  await initBackend("cpu");
});

describe("decode on the cpu backend", () => {
  it("uses the inplace cache and matches the full forward pass", () => {
    expect(tf.getBackend()).toBe("cpu");
    expect(defaultCacheMode()).toBe("inplace");
    const config = smallConfig("llama", { vocabSize: 50, hiddenSize: 32, heads: 4, kvHeads: 2, maxPositions: 32 });
    const model = DecoderModel.random(config, 9, { std: 0.3 });
    const seq = [3, 1, 4, 1, 5, 9, 2, 6];
    const want = oracle(model, seq);
    const cache = model.createCache(1, 8, { chunk: 3 });
    let worst = 0;
    seq.forEach((t, i) => (worst = Math.max(worst, maxAbsDiff(step(model, cache, [t], [i])[0]!, want[i]!))));
    expect(worst).toBeLessThan(1e-4);
    cache.dispose();
    model.dispose();
  });
});
