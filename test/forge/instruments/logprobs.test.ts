/**
 * Token logprobs against a direct computation (sort the whole row, filter, renormalise) on
 * random rows, and against the real sampler: every token sampleTokensHost draws lies inside
 * the distribution the instrument says it was drawn from.
 */
import { describe, expect, it } from "vitest";
import { LogprobScratch, tokenLogprob } from "../../../forge/instruments/logprobs.js";
import { resolveSampling, sampleTokensHost, type SamplingOptions } from "../../../forge/sampler/index.js";

function randomRow(vocab: number, seed: number, spread = 6): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const row = new Float32Array(vocab);
  for (let i = 0; i < vocab; i++) row[i] = (next() - 0.5) * 2 * spread;
  // a few peaks, and ties, as real rows have
  row[seed % vocab] = spread * 1.5;
  row[(seed * 7) % vocab] = spread * 1.5;
  return row;
}

/** The definition, written plainly: float64 softmax over the sorted row, filters in the sampler's order. */
function direct(row: Float32Array, token: number, o: SamplingOptions): { model: number; sampling: number } {
  const n = row.length;
  const lse = (xs: number[]) => {
    const m = Math.max(...xs);
    return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
  };
  const all = Array.from(row);
  const model = row[token]! - lse(all);
  const s = resolveSampling(o, n);
  if (s.greedy) {
    const first = all.indexOf(Math.max(...all));
    return { model, sampling: first === token ? 0 : -Infinity };
  }
  const z = all.map((x) => x / s.temperature);
  let order = z.map((_, i) => i).sort((a, b) => z[b]! - z[a]! || a - b);
  if (s.topK !== null) order = order.slice(0, s.topK);
  const zl = lse(order.map((i) => z[i]!));
  if (s.topP !== null) {
    const kept: number[] = [];
    let before = 0;
    for (const i of order) {
      if (before >= s.topP) break;
      kept.push(i);
      before += Math.exp(z[i]! - zl);
    }
    order = kept;
  }
  if (!order.includes(token)) return { model, sampling: -Infinity };
  return { model, sampling: z[token]! - lse(order.map((i) => z[i]!)) };
}

const SETTINGS: SamplingOptions[] = [
  {},
  { temperature: 0.7 },
  { greedy: true },
  { topK: 5 },
  { topK: 40, temperature: 1.3 },
  { topP: 0.9 },
  { topP: 0.5, temperature: 0.8 },
  { topK: 50, topP: 0.95 },
  { topP: 0.9999999 },
];

describe("tokenLogprob", () => {
  it.each(SETTINGS)("equals the direct definition for %j on random rows", (options) => {
    const vocab = 997;
    const scratch = new LogprobScratch(vocab);
    const s = resolveSampling(options, vocab);
    let checked = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const row = randomRow(vocab, seed);
      for (const token of [seed % vocab, (seed * 7) % vocab, (seed * 13 + 5) % vocab, 0, vocab - 1]) {
        const got = tokenLogprob(row, 0, vocab, token, s, scratch);
        const want = direct(row, token, options);
        // The model's normaliser is summed in float32 SIMD lanes (relative error ~1e-7); the filtered ones in float64.
        expect(got.model).toBeCloseTo(want.model, 5);
        if (want.sampling === -Infinity) expect(got.sampling).toBe(-Infinity);
        else expect(got.sampling).toBeCloseTo(want.sampling, options.topK || options.topP || options.temperature ? 9 : 5);
        checked++;
      }
    }
    expect(checked).toBe(200);
  });

  it("gives the best k alternatives, best first, ties by lower id, padded with -1/NaN past the vocabulary", () => {
    const row = new Float32Array([1, 3, 3, -2, 0.5]);
    const ids = new Int32Array(7);
    const lps = new Float32Array(7);
    tokenLogprob(row, 0, 5, 1, resolveSampling({}, 5), new LogprobScratch(5), 7, ids, lps, 0);
    expect(Array.from(ids)).toEqual([1, 2, 0, 4, 3, -1, -1]);
    const lse = Math.log([1, 3, 3, -2, 0.5].reduce((a, x) => a + Math.exp(x), 0));
    expect(lps[0]).toBeCloseTo(3 - lse, 6);
    expect(lps[4]).toBeCloseTo(-2 - lse, 6);
    expect(Number.isNaN(lps[5]!)).toBe(true);
  });

  it("every token the real sampler draws has a finite sampling logprob under its settings", () => {
    const vocab = 4096;
    const batch = 16;
    const scratch = new LogprobScratch(vocab);
    for (const options of SETTINGS) {
      const logits = new Float32Array(batch * vocab);
      for (let b = 0; b < batch; b++) logits.set(randomRow(vocab, 100 + b, 4), b * vocab);
      const instances = Array.from({ length: batch }, (_, b) => b);
      for (let step = 0; step < 8; step++) {
        const tokens = sampleTokensHost(logits, vocab, options, 7, instances, instances.map(() => step));
        const s = resolveSampling(options, vocab);
        for (let b = 0; b < batch; b++) {
          const lp = tokenLogprob(logits, b * vocab, vocab, tokens[b]!, s, scratch);
          expect(lp.sampling, `${JSON.stringify(options)} row ${b} step ${step}`).toBeGreaterThan(-Infinity);
          expect(lp.sampling).toBeLessThanOrEqual(1e-12);
          expect(lp.model).toBeLessThan(0);
        }
      }
    }
  });

  it("refuses a token outside the vocabulary with an InstrumentError", () => {
    expect(() => tokenLogprob(new Float32Array(4), 0, 4, 9, resolveSampling({}, 4), new LogprobScratch(4))).toThrow(/token 9 is outside the vocabulary \(0\.\.3\)/);
  });
});
