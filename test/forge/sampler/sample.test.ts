import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { sampleTokens, SamplingOptionsError, type SamplingOptions } from "../../../forge/sampler/index.js";

beforeAll(async () => {
  await initBackend("wasm");
});

const V = 10;
/** Known distribution over 6 tokens; tokens 6..9 get (almost) no mass. */
const P = [0.05, 0.1, 0.15, 0.2, 0.25, 0.25];
const LOGITS = [...P.map(Math.log), -1e4, -1e4, -1e4, -1e4];

function sample(rows: number[][], options: SamplingOptions, seed: number, instances: number[], steps: number[]): number[] {
  return tf.tidy(() =>
    Array.from(sampleTokens(tf.tensor2d(rows), options, seed, Int32Array.from(instances), Int32Array.from(steps)).dataSync()),
  );
}

/** Counts over 20 000 draws: 2 000 instances × 10 steps, same logits in every row. */
function frequencies(options: SamplingOptions, seed = 1): number[] {
  const B = 2000;
  const counts = new Array(V).fill(0);
  const rows = Array.from({ length: B }, () => LOGITS);
  for (let step = 0; step < 10; step++) {
    const tokens = sample(rows, options, seed, Array.from({ length: B }, (_, i) => i), new Array(B).fill(step));
    for (const t of tokens) counts[t]++;
  }
  return counts;
}

function chiSquare(counts: number[], expected: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  let chi2 = 0;
  expected.forEach((p, i) => {
    if (p > 0) chi2 += (counts[i]! - n * p) ** 2 / (n * p);
    else expect(counts[i], `token ${i} has probability 0 but was sampled`).toBe(0);
  });
  return chi2;
}

function normalise(w: number[]): number[] {
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

describe("sampleTokens: frequencies match the filtered distribution (chi-square, p = 0.001)", () => {
  it("temperature 1 samples the softmax", () => {
    const chi2 = chiSquare(frequencies({}), [...P, 0, 0, 0, 0]);
    expect(chi2).toBeLessThan(20.52); // df 5
  });

  it("temperature 2 samples p^(1/2), renormalised", () => {
    const chi2 = chiSquare(frequencies({ temperature: 2 }), [...normalise(P.map(Math.sqrt)), 0, 0, 0, 0]);
    expect(chi2).toBeLessThan(20.52);
  });

  it("top-k 3 keeps the three most likely tokens", () => {
    const chi2 = chiSquare(frequencies({ topK: 3 }), [0, 0, 0, 0.2 / 0.7, 0.25 / 0.7, 0.25 / 0.7, 0, 0, 0, 0]);
    expect(chi2).toBeLessThan(13.82); // df 2
  });

  it("top-p 0.6 keeps the smallest prefix reaching 0.6 (0.25 + 0.25 + 0.2)", () => {
    const chi2 = chiSquare(frequencies({ topP: 0.6 }), [0, 0, 0, 0.2 / 0.7, 0.25 / 0.7, 0.25 / 0.7, 0, 0, 0, 0]);
    expect(chi2).toBeLessThan(13.82);
  });

  it("top-k 4 then top-p 0.8 of the renormalised top 4", () => {
    // top 4 renormalised: 0.25/0.85, 0.25/0.85, 0.2/0.85, 0.15/0.85 → cumulative before the
    // 4th is 0.824 ≥ 0.8, so 3 tokens remain.
    const chi2 = chiSquare(frequencies({ topK: 4, topP: 0.8 }), [0, 0, 0, 0.2 / 0.7, 0.25 / 0.7, 0.25 / 0.7, 0, 0, 0, 0]);
    expect(chi2).toBeLessThan(13.82);
  });
});

describe("sampleTokens: determinism and batch independence", () => {
  const randomRows = (n: number, seed: number) => tf.tidy(() => tf.randomNormal([n, 50], 0, 3, "float32", seed).arraySync() as number[][]);
  const modes: SamplingOptions[] = [{}, { temperature: 0.7 }, { topK: 5 }, { topP: 0.9 }, { topK: 20, topP: 0.5, temperature: 1.3 }];

  it("greedy, temperature 0 and top-k 1 take the argmax", () => {
    const rows = randomRows(16, 3);
    const argmax = rows.map((r) => r.indexOf(Math.max(...r)));
    const inst = rows.map((_, i) => i);
    for (const options of [{ greedy: true }, { temperature: 0 }, { topK: 1 }])
      expect(sample(rows, options, 9, inst, inst)).toEqual(argmax);
  });

  it("the same seed gives the same trace; another seed another one", () => {
    const rows = randomRows(64, 4);
    const inst = rows.map((_, i) => i);
    const steps = rows.map(() => 3);
    const a = sample(rows, {}, 123, inst, steps);
    expect(sample(rows, {}, 123, inst, steps)).toEqual(a);
    expect(sample(rows, {}, 124, inst, steps)).not.toEqual(a);
  });

  for (const options of modes) {
    it(`an instance samples the same token alone (batch 1) and at slot 5 of batch 8: ${JSON.stringify(options)}`, () => {
      const rows = randomRows(8, 5);
      for (let instance = 0; instance < 30; instance++) {
        const step = instance * 7;
        const alone = sample([rows[5]!], options, 77, [instance], [step]);
        // The other slots run other instances at other steps.
        const batch = sample(rows, options, 77, [100, 101, 102, 103, 104, instance, 106, 107], [1, 2, 3, 4, 5, step, 7, 8]);
        expect(batch[5]).toBe(alone[0]);
      }
    });
  }

  it("top-k never leaves the k most likely tokens; top-p never leaves the nucleus", () => {
    const rows = randomRows(200, 6);
    const inst = rows.map((_, i) => i);
    const topK = sample(rows, { topK: 3 }, 5, inst, inst);
    const topP = sample(rows, { topP: 0.3 }, 5, inst, inst);
    rows.forEach((r, i) => {
      const order = r.map((x, j) => [x, j] as const).sort((a, b) => b[0] - a[0]).map(([, j]) => j);
      expect(order.slice(0, 3)).toContain(topK[i]);
      const probs = normalise(r.map((x) => Math.exp(x - Math.max(...r))));
      let before = 0;
      const nucleus: number[] = [];
      for (const j of order) {
        if (before >= 0.3) break;
        nucleus.push(j);
        before += probs[j]!;
      }
      expect(nucleus).toContain(topP[i]);
    });
  });
});

describe("sampleTokens: bad options and shapes", () => {
  it("names the field at fault", () => {
    const run = (o: SamplingOptions) => sample([[0, 1]], o, 1, [0], [0]);
    expect(() => run({ temperature: -1 })).toThrow(SamplingOptionsError);
    expect(() => run({ temperature: -1 })).toThrow(/temperature/);
    expect(() => run({ topK: 0 })).toThrow(/topK: expected an integer >= 1/);
    expect(() => run({ topP: 1.5 })).toThrow(/topP: expected a number in \(0, 1\]/);
  });

  it("requires one instance and step per row", () => {
    expect(() => sample([[0, 1], [1, 0]], {}, 1, [0], [0, 0])).toThrow(/one entry per row/);
  });
});
