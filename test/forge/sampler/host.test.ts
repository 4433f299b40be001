import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { sampleTokens, sampleTokensHost, type SamplingOptions } from "../../../forge/sampler/index.js";
import { useSamplerKernel } from "../../../forge/sampler/host.js";
import { wasmHeap } from "../../../forge/sampler/dispatch.js";
import { seededRandom } from "../../../forge/resources/random.js";
import { expScalar, samplerKernel, samplerKernelBytes } from "../../../forge/sampler/kernel.js";

beforeAll(async () => {
  await initBackend("wasm");
});
afterAll(() => useSamplerKernel(true));

type Kind = "normal" | "integer" | "peaked" | "padded";

/** A turn of the event loop between long synchronous comparisons (vitest's worker RPC times out otherwise on a loaded machine). */
const yieldToWorker = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Random logits [B, V]: normal (sd), rounded to integers (many exact ties), one token far ahead, or half the row at -1e4. */
function randomLogits(B: number, V: number, sd: number, kind: Kind, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    let t = tf.randomNormal([B, V], 0, sd, "float32", seed);
    if (kind === "integer") t = tf.round(t);
    if (kind === "peaked") t = tf.add(t, tf.mul(tf.oneHot(tf.fill([B], seed % V, "int32"), V), 12));
    if (kind === "padded") t = tf.where(tf.less(tf.randomUniform([B, V], 0, 1, "float32", seed + 1), 0.5), t, tf.fill([B, V], -1e4));
    return t as tf.Tensor2D;
  });
}

const MODES: SamplingOptions[] = [
  {},
  { greedy: true },
  { temperature: 0.7 },
  { temperature: 1.3 },
  { topK: 5 },
  { topK: 40 },
  { topK: 64 },
  { topK: 65 },
  { topK: 300 },
  { topP: 0.9 },
  { topP: 0.5 },
  { topP: 0.999 },
  { topK: 100, topP: 0.8, temperature: 0.8 },
  { topK: 3, topP: 0.5 },
];

/** Tokens of the tensor sampler and of the typed-array one on the same logits, same seed, instances and steps. */
function both(logits: tf.Tensor2D, options: SamplingOptions, seed: number, instances: Int32Array, steps: Int32Array) {
  const reference = tf.tidy(() => Array.from(sampleTokens(logits, options, seed, instances, steps).dataSync()));
  const host = Array.from(sampleTokensHost(logits.dataSync() as Float32Array, logits.shape[1], options, seed, instances, steps));
  return { reference, host };
}

describe("the SIMD module repeats the wasm backend's float32 arithmetic", () => {
  it("is valid WebAssembly and loads", () => {
    expect(WebAssembly.validate(samplerKernelBytes())).toBe(true);
    expect(samplerKernel()).not.toBeNull();
  });

  for (const V of [1, 2, 3, 5, 7, 16, 17, 19, 50, 301, 8192, 8195]) {
    it(`softmax and cumsum bit for bit, width ${V}`, async () => {
      const k = samplerKernel()!;
      const B = 8;
      const logits = randomLogits(B, V, V > 100 ? 3 : 10, "normal", V);
      const x = logits.dataSync() as Float32Array;
      const probs = tf.softmax(logits);
      const refProbs = probs.dataSync() as Float32Array;
      const refCdf = tf.tidy(() => tf.cumsum(probs, 1).dataSync()) as Float32Array;
      const f32 = Math.fround;
      if (k.memory.buffer.byteLength < 4 * 4 * (V + 8)) k.memory.grow(1);
      for (let b = 0; b < B; b++) {
        const mem = new Float32Array(k.memory.buffer);
        const e = V + 8;
        const c = 2 * (V + 8);
        mem.set(x.subarray(b * V, (b + 1) * V), 0);
        const max = k.rowmax(0, V);
        const n4 = V & ~3;
        let sum = k.expsum(0, e * 4, n4, max);
        for (let i = n4; i < V; i++) {
          mem[e + i] = expScalar(mem[i]! - max);
          sum = f32(sum + mem[e + i]!);
        }
        const scale = f32(1 / sum);
        k.cumscale(e * 4, c * 4, V, scale);
        const differ: string[] = [];
        for (let i = 0; i < V; i++) {
          if (f32(mem[e + i]! * scale) !== refProbs[b * V + i]) differ.push(`prob ${b},${i}`);
          if (mem[c + i] !== refCdf[b * V + i]) differ.push(`cdf ${b},${i}`);
        }
        expect(differ.slice(0, 5)).toEqual([]);
        expect(k.argmax(0, V)).toBe(tf.tidy(() => tf.argMax(logits, 1).dataSync()[b]));
        await yieldToWorker();
      }
      probs.dispose();
      logits.dispose();
    });
  }
});

describe("sampleTokensHost draws the tensor sampler's tokens", () => {
  for (const simd of [true, false]) {
    const label = simd ? "SIMD module" : "plain JavaScript";
    const shapes: [number, number, number, Kind][] = [
      [64, 8192, 3, "normal"],
      [64, 8192, 1, "peaked"],
      [32, 10, 2, "normal"],
      [32, 50, 3, "normal"],
      [16, 7, 1, "normal"],
      [8, 1, 1, "normal"],
      [8, 2, 1, "normal"],
      [8, 3, 1, "normal"],
      [16, 301, 8, "normal"],
      [16, 1000, 2, "integer"],
      [16, 8195, 1, "peaked"],
      [16, 500, 30, "normal"],
      [16, 2000, 3, "padded"],
    ];
    for (const [B, V, sd, kind] of shapes) {
      if (!simd && V > 2000) continue; // the JavaScript path is the same code on the same arithmetic; keep the test short
      it(`${label}: ${B} × ${V}, ${kind} logits (sd ${sd}), every sampling mode, several batches`, async () => {
        const batches = V >= 8192 ? 2 : 4;
        for (let rep = 0; rep < batches; rep++) {
          const logits = randomLogits(B, V, sd, kind, 1000 * rep + V + B);
          const instances = Int32Array.from({ length: B }, (_, i) => 37 * rep + i);
          const steps = Int32Array.from({ length: B }, (_, i) => 3 * i + rep);
          for (const options of MODES) {
            useSamplerKernel(simd);
            try {
              const { reference, host } = both(logits, options, 11 + rep, instances, steps);
              expect(host, `${JSON.stringify(options)}, batch ${rep}`).toEqual(reference);
            } finally {
              useSamplerKernel(true);
            }
            await yieldToWorker();
          }
          logits.dispose();
        }
      });
    }
  }

  it("2 000 draws from one distribution per mode: every draw the same (uniforms sweep the CDF)", async () => {
    const P = [0.05, 0.1, 0.15, 0.2, 0.25, 0.25];
    const row = [...P.map(Math.log), -1e4, -1e4, -1e4, -1e4];
    const B = 2000;
    const logits = tf.tensor2d(Array.from({ length: B }, () => row));
    const instances = Int32Array.from({ length: B }, (_, i) => i);
    for (const options of [...MODES, { topP: 0.6 }, { topK: 4, topP: 0.8 }]) {
      for (const step of [0, 1, 2]) {
        const { reference, host } = both(logits, options, 1, instances, new Int32Array(B).fill(step));
        expect(host, JSON.stringify(options)).toEqual(reference);
        await yieldToWorker();
      }
    }
    logits.dispose();
  });

  it("per-row options: each row as if sampled alone with its own options", () => {
    const B = 12;
    const logits = randomLogits(B, 300, 3, "normal", 5);
    const x = logits.dataSync() as Float32Array;
    const options = Array.from({ length: B }, (_, b) => MODES[b % MODES.length]!);
    const instances = Int32Array.from({ length: B }, (_, i) => 100 + i);
    const steps = Int32Array.from({ length: B }, (_, i) => i);
    const mixed = sampleTokensHost(x, 300, options, 3, instances, steps);
    for (let b = 0; b < B; b++) {
      const alone = sampleTokensHost(x.subarray(b * 300, (b + 1) * 300), 300, options[b]!, 3, [instances[b]!], [steps[b]!]);
      expect(mixed[b]).toBe(alone[0]);
    }
    logits.dispose();
  });

  it("checks its arguments", () => {
    const x = new Float32Array(6);
    expect(() => sampleTokensHost(x, 4, {}, 1, [0], [0])).toThrow(/expected batch 1 × vocab 4/);
    expect(() => sampleTokensHost(x, 3, {}, 1, [0, 1], [0])).toThrow(/one entry per row/);
    expect(() => sampleTokensHost(x, 3, [{}], 1, [0, 1], [0, 0])).toThrow(/1 sampling options for 2 rows/);
    expect(() => sampleTokensHost(x, 3, { topP: 2 }, 1, [0, 1], [0, 0])).toThrow(/topP/);
  });
});

describe("sampleTokensHost reuses its scratch between calls", () => {
  it("draws the same tokens after the module's memory grew (the logprob instrument grows it) and after a width change", () => {
    const logits = randomLogits(9, 8192, 3, "normal", 41);
    const x = Float32Array.from(logits.dataSync() as Float32Array);
    const instances = Int32Array.from({ length: 9 }, (_, i) => i);
    const reference = tf.tidy(() => Array.from(sampleTokens(logits, {}, 2, instances, instances).dataSync()));
    expect(Array.from(sampleTokensHost(x, 8192, {}, 2, instances, instances))).toEqual(reference);
    samplerKernel()!.memory.grow(16); // detaches every view of the old buffer
    expect(Array.from(sampleTokensHost(x, 8192, {}, 2, instances, instances))).toEqual(reference);
    // Another width in between (a new scratch layout), then this one again.
    const narrow = x.subarray(0, 9 * 301);
    const narrowReference = tf.tidy(() => Array.from(sampleTokens(tf.tensor2d(narrow, [9, 301]), {}, 2, instances, instances).dataSync()));
    expect(Array.from(sampleTokensHost(narrow, 301, {}, 2, instances, instances))).toEqual(narrowReference);
    expect(Array.from(sampleTokensHost(x, 8192, {}, 2, instances, instances))).toEqual(reference);
    logits.dispose();
  });
});

describe("constraint masks (RowSelection): the draws of the sampler on the fully masked rows", () => {
  /** Row b's bitset: free (null), all allowed, random (~60 % allowed), shorter than the row, or a few columns. */
  function bitsets(B: number, V: number, seed: number): Array<Uint32Array | null> {
    const random = seededRandom(seed);
    const words = Math.ceil(V / 32);
    return Array.from({ length: B }, (_, b) => {
      const kind = b % 6;
      if (kind === 0) return null;
      if (kind === 1) return new Uint32Array(words).fill(0xffffffff);
      if (kind === 5) {
        const few = new Uint32Array(words);
        for (let j = 0; j < 5; j++) {
          const v = Math.floor(random() * V);
          few[v >>> 5]! |= 1 << (v & 31);
        }
        return few;
      }
      const bits = new Uint32Array(kind === 4 ? Math.max(1, words - 3) : words);
      for (let i = 0; i < bits.length * 32; i++) if (random() < 0.6) bits[i >>> 5]! |= 1 << (i & 31);
      return bits;
    });
  }

  /** Logits with −∞ where the row's bitset forbids the column (the tensor path's masked rows). */
  function maskedCopy(x: Float32Array, V: number, masks: Array<Uint32Array | null>): Float32Array {
    const out = x.slice();
    masks.forEach((bits, b) => {
      if (bits === null) return;
      for (let i = 0; i < V; i++) if (!((i >>> 5) < bits.length && (bits[i >>> 5]! >>> (i & 31)) & 1)) out[b * V + i] = -Infinity;
    });
    return out;
  }

  /**
   * Rows: "near" — normal logits (sd 3), every allowed value within the denormal cutoff of the
   * allowed maximum (the cheaper exp loop); "far" — a quarter of the columns at −200, so the
   * allowed minimum is below the cutoff (the loop that zeroes lanes). Disallowed columns hold
   * the row's largest values too (so the mask decides the maximum).
   */
  function logitsFor(B: number, V: number, spread: "near" | "far", seed: number): Float32Array {
    const random = seededRandom(seed);
    const x = new Float32Array(B * V);
    for (let i = 0; i < x.length; i++) {
      const g = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      x[i] = spread === "far" && random() < 0.25 ? -200 + g : 3 * g;
    }
    for (let b = 0; b < B; b++) x[b * V + ((7 * b) % V)] = 40; // a spike, allowed or not
    return x;
  }

  const heapView = (t: tf.Tensor) => (tf.backend() as unknown as { typedArrayFromHeap: (t: tf.Tensor) => Float32Array }).typedArrayFromHeap(t);

  for (const V of [50257, 1003]) {
    for (const spread of ["near", "far"] as const) {
      it(`${V} columns, allowed minimum ${spread === "near" ? "within" : "below"} the cutoff: every mode, on the heap and on copied rows${V < 2000 ? ", and in plain JavaScript" : ""}`, async () => {
        const B = 20; // two whole groups of eight and a short one
        const x = logitsFor(B, V, spread, V + (spread === "far" ? 1 : 0));
        const masks = bitsets(B, V, V);
        const masked = maskedCopy(x, V, masks);
        const instances = Int32Array.from({ length: B }, (_, i) => 5 * i + 1);
        const steps = Int32Array.from({ length: B }, (_, i) => i);
        const heap = wasmHeap();
        expect(heap, "the tfjs wasm backend exposes its heap").toBeDefined();
        const tensor = tf.tensor2d(x, [B, V]);
        const maskedTensor = tf.tensor2d(masked, [B, V]);
        for (const options of MODES) {
          const label = `${V} ${spread} ${JSON.stringify(options)}`;
          const want = sampleTokensHost(masked, V, options, 7, instances, steps);
          // The reference itself is the tensor sampler's draw on the masked rows.
          if (V < 2000 || options.topP === undefined) expect(Array.from(want), `${label}: tensor sampler`).toEqual(tf.tidy(() => Array.from(sampleTokens(maskedTensor, options, 7, instances, steps).dataSync())));
          const select = { masks: (b: number) => masks[b]! };
          expect(Array.from(sampleTokensHost(x, V, options, 7, instances, steps, undefined, undefined, select)), `${label}: copied rows`).toEqual(Array.from(want));
          expect(Array.from(sampleTokensHost(heapView(tensor), V, options, 7, instances, steps, undefined, heap, select)), `${label}: on the heap`).toEqual(Array.from(want));
          if (V < 2000) {
            useSamplerKernel(false);
            try {
              expect(Array.from(sampleTokensHost(x, V, options, 7, instances, steps, undefined, undefined, select)), `${label}: plain JavaScript`).toEqual(Array.from(want));
            } finally {
              useSamplerKernel(true);
            }
          }
          await yieldToWorker();
        }
        // Only some rows: the others' entries of `out` are left as they were.
        const rows = [3, 4, 9, 10, 11, 12, 13, 14, 15, 16, 19];
        const out = new Int32Array(B).fill(-1);
        sampleTokensHost(heapView(tensor), V, {}, 7, instances, steps, out, heap, { rows, masks: (b) => masks[b]! });
        const all = sampleTokensHost(masked, V, {}, 7, instances, steps);
        expect(Array.from(out)).toEqual(Array.from(all, (t, b) => (rows.includes(b) ? t : -1)));
        expect(Array.from(tensor.dataSync()).every((v, i) => Object.is(v, x[i]!)), "the heap's logits are not modified").toBe(true);
        tensor.dispose();
        maskedTensor.dispose();
      }, 120_000);
    }
  }

  it("draws the same masked tokens after the module's memory was used as scratch in between (the logprob instrument does)", () => {
    const B = 9;
    const V = 301;
    const x = logitsFor(B, V, "near", 77);
    const masks = bitsets(B, V, 78);
    const instances = Int32Array.from({ length: B }, (_, i) => i);
    const want = sampleTokensHost(maskedCopy(x, V, masks), V, {}, 3, instances, instances);
    const select = { masks: (b: number) => masks[b]! };
    expect(Array.from(sampleTokensHost(x, V, {}, 3, instances, instances, undefined, undefined, select))).toEqual(Array.from(want));
    new Uint32Array(samplerKernel()!.memory.buffer).fill(0x7fc00001); // every scratch word overwritten
    expect(Array.from(sampleTokensHost(x, V, {}, 3, instances, instances, undefined, undefined, select))).toEqual(Array.from(want));
  });

  it("greedy on a row whose allowed logits are all −∞: ArgMax of the masked row (column 0), as the tensor sampler draws, on the heap and on copied rows", () => {
    // Widths 2, 64 and 97 (tails of 0 and 1 columns); the allowed columns hold −∞, the others finite values.
    for (const V of [2, 64, 97]) {
      const B = 3;
      const x = Float32Array.from({ length: B * V }, (_, i) => (i % 7) - 3);
      const masks = Array.from({ length: B }, (_, b) => {
        const bits = new Uint32Array(Math.ceil(V / 32));
        for (const v of [V - 1, (5 * b + 1) % V]) {
          bits[v >>> 5]! |= 1 << (v & 31);
          x[b * V + v] = -Infinity;
        }
        return bits;
      });
      const masked = maskedCopy(x, V, masks);
      const instances = Int32Array.from({ length: B }, (_, i) => i);
      const reference = tf.tidy(() => Array.from(sampleTokens(tf.tensor2d(masked, [B, V]), { greedy: true }, 1, instances, instances).dataSync()));
      expect(reference, "the tensor sampler: ArgMax of an all −∞ row").toEqual([0, 0, 0]);
      const select = { masks: (b: number) => masks[b]! };
      expect(Array.from(sampleTokensHost(x, V, { greedy: true }, 1, instances, instances, undefined, undefined, select)), `${V}: copied rows`).toEqual(reference);
      const heap = wasmHeap()!;
      const tensor = tf.tensor2d(x, [B, V]);
      try {
        expect(Array.from(sampleTokensHost(heapView(tensor), V, { greedy: true }, 1, instances, instances, undefined, heap, select)), `${V}: on the heap`).toEqual(reference);
      } finally {
        tensor.dispose();
      }
    }
  });

  it("a row outside the batch is an error", () => {
    expect(() => sampleTokensHost(new Float32Array(6), 3, {}, 1, [0, 1], [0, 0], undefined, undefined, { rows: [2] })).toThrow(/row 2 is outside the batch/);
  });
});
