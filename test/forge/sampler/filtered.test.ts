/**
 * Top-k / top-p on typed arrays (forge/sampler/filtered.ts) against the tensor sampler, bit
 * for bit, on the rows that stress the ranking: ties, −0 beside +0, infinities, rows shorter
 * than a lane group or than the top-k bound's sets, odd widths, k ≥ n, p = 1, and a flat row
 * of GPT-2's width. Each case runs with the sort module and with the JavaScript ranking
 * (useSortKernel(false)), and with the SIMD kernel and without it.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { sampleTokens, sampleTokensHost, type SamplingOptions } from "../../../forge/sampler/index.js";
import { useSamplerKernel } from "../../../forge/sampler/host.js";
import { useSortKernel } from "../../../forge/sampler/filtered.js";
import { seededRandom } from "../../../forge/resources/random.js";

beforeAll(async () => {
  await initBackend("wasm");
});
afterAll(() => {
  useSamplerKernel(true);
  useSortKernel(true);
});

/** A turn of the event loop between long synchronous comparisons (vitest's worker RPC times out otherwise on a loaded machine). */
const yieldToWorker = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Filtered modes for a row width V: every path of the ranking (bound or not, insertion or radix), k ≥ n and p = 1 included. */
const modes = (V: number): SamplingOptions[] => [
  { topP: 0.9 },
  { topP: 0.5 },
  { topP: 0.999 },
  { topP: 1 },
  { topK: 2 },
  { topK: 5 },
  { topK: 40 },
  { topK: 64 },
  { topK: 65 },
  { topK: 300 },
  { topK: 40, topP: 0.8, temperature: 0.7 },
  { topK: V },
  { topK: V + 5, topP: 0.9 },
];

const PATHS = [
  { sort: true, simd: true },
  { sort: false, simd: true },
  { sort: true, simd: false },
  { sort: false, simd: false },
];

/** Rows [B × V] → the tensor sampler's tokens and sampleTokensHost's on every path, per mode. */
async function expectSameDraws(label: string, x: Float32Array, B: number, V: number, options = modes(V)): Promise<void> {
  const logits = tf.tensor2d(x, [B, V]);
  const instances = Int32Array.from({ length: B }, (_, i) => 5 * i + 1);
  const steps = Int32Array.from({ length: B }, (_, i) => i);
  try {
    for (const mode of options) {
      const reference = tf.tidy(() => Array.from(sampleTokens(logits, mode, 7, instances, steps).dataSync()));
      for (const path of PATHS) {
        useSortKernel(path.sort);
        useSamplerKernel(path.simd);
        try {
          const host = Array.from(sampleTokensHost(Float32Array.from(x), V, mode, 7, instances, steps));
          expect(host, `${label}, ${JSON.stringify(mode)}, sort module ${path.sort}, SIMD ${path.simd}`).toEqual(reference);
        } finally {
          useSortKernel(true);
          useSamplerKernel(true);
        }
      }
      await yieldToWorker();
    }
  } finally {
    logits.dispose();
  }
}

/** Normal logits (sd) from a seeded generator, as float32. */
function normal(n: number, sd: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = sd * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return out;
}

describe("top-k / top-p draw the tensor sampler's tokens on hard rows", () => {
  it("ties: integer logits, and rows of three values (ties across the k-th rank)", async () => {
    const integer = normal(16 * 1000, 2, 1).map(Math.round);
    await expectSameDraws("integer logits", integer, 16, 1000);
    const random = seededRandom(2);
    const three = Float32Array.from({ length: 8 * 8192 }, () => Math.floor(3 * random()));
    await expectSameDraws("values 0, 1, 2", three, 8, 8192, [{ topK: 40 }, { topK: 300 }, { topP: 0.9 }, { topP: 0.3 }]);
  });

  it("−0 beside +0: zeros of both signs tie (ascending index), also where the largest value is a zero", async () => {
    const B = 8;
    const V = 300;
    const random = seededRandom(3);
    const x = new Float32Array(B * V);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < V; i++) {
        const r = random();
        // Rows 0–3: zeros and negatives (a zero is the largest); rows 4–7: zeros among normal values.
        x[b * V + i] = r < 0.3 ? -0 : r < 0.6 ? 0 : b < 4 ? -1 - 4 * random() : 3 * (random() - 0.5);
      }
    expect(x.some((v) => Object.is(v, -0))).toBe(true);
    await expectSameDraws("±0", x, B, V);
  });

  it("infinities: −∞ (masked tokens) in most of the row, and rows holding +∞", async () => {
    const B = 8;
    const V = 2000;
    const x = normal(B * V, 3, 4);
    const random = seededRandom(5);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < V; i++) if (random() < 0.8) x[b * V + i] = -Infinity;
    await expectSameDraws("−∞", x, B, V);
    // +∞: one in row 0, three in row 1 (ties among them), beside −∞ in row 2.
    const y = normal(4 * 500, 3, 6);
    y[17] = Infinity;
    y[500 + 3] = y[500 + 200] = y[500 + 499] = Infinity;
    y[1000 + 5] = Infinity;
    y[1000 + 6] = -Infinity;
    await expectSameDraws("+∞", y, 4, 500, [{ topP: 0.9 }, { topK: 2 }, { topK: 40 }, { topK: 300 }]);
  });

  it("short rows and odd widths (shorter than a lane group, than the top-k bound's sets, than the heap)", async () => {
    for (const V of [2, 3, 5, 7, 17, 33, 63, 65, 127, 255, 8191]) {
      const B = V > 1000 ? 8 : 16;
      await expectSameDraws(`width ${V}`, normal(B * V, V > 100 ? 3 : 2, 10 + V), B, V);
    }
  });

  it("a flat row of 50 257 (GPT-2's width; nearly every token ranked)", async () => {
    const V = 50257;
    await expectSameDraws("flat 50 257", normal(4 * V, 0.5, 7), 4, V, [{ topP: 0.9 }, { topK: 40 }, { topK: 1000 }, { topK: 50, topP: 0.95 }]);
    // Narrower rows again, in the sort module's memory laid out for 50 257.
    await expectSameDraws("width 8 192 after 50 257", normal(8 * 8192, 1, 8), 8, 8192, [{ topP: 0.9 }, { topK: 40 }, { topK: 300 }]);
  });
});
