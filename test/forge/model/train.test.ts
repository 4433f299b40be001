import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { DecoderModel, DecoderTrainer, oneHotEmbed, smallConfig, trainableMatMul } from "../../../forge/model/index.js";
import { maxAbsDiff, oracle } from "./helpers.js";

beforeAll(async () => {
  await initBackend("wasm");
});

describe("training pieces on wasm", () => {
  it("trainableMatMul has the gradients of a matMul", () => {
    const a = tf.randomNormal([5, 3], 0, 1, "float32", 1) as tf.Tensor2D;
    const b = tf.randomNormal([3, 4], 0, 1, "float32", 2) as tf.Tensor2D;
    const w = tf.randomNormal([5, 4], 0, 1, "float32", 3);
    const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(trainableMatMul(x as tf.Tensor2D, y as tf.Tensor2D), w)))([a, b]);
    const theirs = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), w)))([a, b]);
    expect(maxAbsDiff(ours[0]!.dataSync(), theirs[0]!.dataSync())).toBeLessThan(1e-5);
    expect(maxAbsDiff(ours[1]!.dataSync(), theirs[1]!.dataSync())).toBeLessThan(1e-5);
    expect(maxAbsDiff(trainableMatMul(a, b).dataSync(), tf.matMul(a, b).dataSync())).toBe(0);
  });

  it("oneHotEmbed picks rows and its gradient adds up per token (gather has none on wasm)", () => {
    const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const ids = tf.tensor1d([2, 0, 2], "int32");
    expect(oneHotEmbed(table, ids).arraySync()).toEqual([[5, 6], [1, 2], [5, 6]]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(oneHotEmbed(t as tf.Tensor2D, ids)))(table);
    expect(g.arraySync()).toEqual([[1, 1], [0, 0], [2, 2]]);
  });

  for (const family of ["gpt2", "llama"] as const) {
    it(`${family}: a few Adam steps memorise a batch; the trained model decodes what it learned`, () => {
      const config = smallConfig(family, { vocabSize: 40, hiddenSize: 32, heads: 4, kvHeads: family === "llama" ? 2 : 4, layers: 2, maxPositions: 32 });
      const model = DecoderModel.random(config, 4);
      const trainer = new DecoderTrainer(model, tf.train.adam(0.01));
      const batch = [
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        [30, 20, 10, 30, 20, 10, 30, 20, 10, 30, 20, 10],
      ];
      const first = trainer.step(batch);
      expect(first).toBeGreaterThan(Math.log(40) - 0.5); // ≈ uniform at the start
      let last = first;
      for (let i = 0; i < 60; i++) last = trainer.step(batch);
      expect(last).toBeLessThan(0.3 * first);
      const trained = trainer.toModel();
      // Greedy next token after the prefix 1..6 is 7 in the trained model.
      const logits = oracle(trained, batch[0]!.slice(0, 6));
      const row = logits[5]!;
      expect(row.indexOf(Math.max(...row))).toBe(7);
      // The training forward (oneHot embedding, custom matMuls, tied head from the embedding)
      // computes the same loss as the inference forward of the snapshot.
      const lossNow = trainer.loss(batch).dataSync()[0]!;
      let ce = 0;
      for (const seq of batch) {
        const rows = oracle(trained, seq.slice(0, -1));
        rows.forEach((r, t) => {
          const m = Math.max(...r);
          const logZ = m + Math.log(r.reduce((acc, x) => acc + Math.exp(x - m), 0));
          ce += logZ - r[seq[t + 1]!]!;
        });
      }
      expect(Math.abs(lossNow - ce / (batch.length * 11))).toBeLessThan(1e-4);
      trainer.dispose();
      trained.dispose();
      model.dispose();
    });
  }
});
