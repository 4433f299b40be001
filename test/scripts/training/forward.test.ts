import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { DecoderModel, smallConfig } from "../../../forge/model/index.js";
import { forwardConstants, disposeConstants, initWeights, raggedTrainingLogits, trainingLogits, weightedCrossEntropy, TrainingError } from "../../../scripts/training/index.js";

beforeAll(async () => {
  await initBackend("wasm");
});

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe("the training forward pass", () => {
  const cases = [
    ["llama", smallConfig("llama", { vocabSize: 257, hiddenSize: 32, layers: 2, heads: 2, headDim: 16, maxPositions: 16 })],
    ["llama, grouped-query, narrow attention", smallConfig("llama", { vocabSize: 257, hiddenSize: 32, layers: 2, heads: 4, kvHeads: 2, headDim: 8, maxPositions: 16 })],
    ["gpt2 untied", smallConfig("gpt2", { vocabSize: 257, hiddenSize: 32, layers: 2, heads: 2, maxPositions: 16, tieEmbeddings: false })],
  ] as const;
  for (const [name, config] of cases) {
    it(`gives DecoderModel.forward's logits (${name})`, () => {
      const weights = initWeights(config, 3);
      // Non-trivial norms and biases, so every parameter takes part in the comparison.
      tf.tidy(() => {
        for (const l of weights.layers) {
          (l.attnNorm.gain as tf.Variable).assign(tf.randomUniform(l.attnNorm.gain.shape, 0.5, 1.5, "float32", 1));
          if (l.qkv.b) (l.qkv.b as tf.Variable).assign(tf.randomNormal(l.qkv.b.shape, 0, 0.1, "float32", 2));
        }
      });
      const model = new DecoderModel("t", config, weights);
      const ids = [[1, 72, 101, 108, 256, 0, 9, 200], [13, 10, 91, 69, 79, 83, 93, 5]];
      const c = forwardConstants(config, 8);
      const ours = tf.tidy(() => trainingLogits(config, weights, tf.tensor2d(ids, [2, 8], "int32"), c));
      const reference = tf.tidy(() => tf.reshape(model.forward(ids), [16, 257]));
      expect(maxDiff(ours, reference)).toBeLessThan(1e-5);
      expect(tf.max(tf.abs(reference)).dataSync()[0]).toBeGreaterThan(1e-3);
      disposeConstants(c);
      model.dispose();
    });
  }

  for (const [name, config] of [cases[0], cases[2]] as const) {
    it(`runs sequences of different lengths laid end to end as if each ran alone (${name})`, () => {
      const weights = initWeights(config, 4);
      const model = new DecoderModel("t", config, weights);
      const a = [72, 101, 108, 108, 111];
      const b = [91, 69, 79, 83, 93, 10, 9, 1, 2, 3, 4];
      const c = forwardConstants(config, 16);
      const ragged = tf.tidy(() => raggedTrainingLogits(config, weights, tf.tensor1d([...a, ...b], "int32"), [a.length, b.length], c));
      const alone = tf.tidy(() => tf.concat([tf.reshape(model.forward([a]), [a.length, 257]), tf.reshape(model.forward([b]), [b.length, 257])], 0));
      expect(maxDiff(ragged, alone)).toBeLessThan(1e-5);
      expect(() => raggedTrainingLogits(config, weights, tf.tensor1d(a, "int32"), [4], c)).toThrow(/lengths add up to 4, the batch has 5 ids/);
      disposeConstants(c);
      model.dispose();
    });
  }

  it("has gradients for every weight", () => {
    const config = cases[0][1];
    const weights = initWeights(config, 5);
    const c = forwardConstants(config, 6);
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], "int32");
    const targets = tf.tensor1d([2, 3, 4, 5, 6, 7], "int32");
    const w = tf.tensor1d([1, 1, 1, 0.2, 0.2, 0]);
    const { grads } = tf.variableGrads(() => weightedCrossEntropy(trainingLogits(config, weights, ids, c), targets, w));
    const norms = Object.values(grads).map((g) => tf.norm(g).dataSync()[0]!);
    expect(norms.length).toBeGreaterThan(10);
    for (const n of norms) expect(n).toBeGreaterThan(0);
  });

  it("weights the loss per target and ignores zero-weight targets", () => {
    const logits = tf.tensor2d([[0, 0, 10], [10, 0, 0]]);
    const targets = tf.tensor1d([2, 2], "int32");
    // The second target (badly predicted) has weight 0: the loss is the first one's alone.
    const loss = weightedCrossEntropy(logits, targets, tf.tensor1d([1, 0])).dataSync()[0]!;
    const expected = -Math.log(Math.exp(10) / (2 + Math.exp(10)));
    expect(loss).toBeCloseTo(expected, 4);
  });

  it("refuses a window longer than the model's context", () => {
    const config = cases[0][1];
    expect(() => forwardConstants(config, 17)).toThrow(TrainingError);
    expect(() => forwardConstants(config, 17)).toThrow(/exceeds the model's context \(16\)/);
  });
});
