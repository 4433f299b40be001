import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { hostSampling, sampleOnBackend, sampleTokens, sampleTokensHost, type SamplingOptions } from "../../../forge/sampler/index.js";
import { samplerKernelBytes, samplerKernelOn } from "../../../forge/sampler/kernel.js";

beforeAll(async () => {
  await initBackend("wasm");
});
afterAll(() => tf.disposeVariables());

const yieldToWorker = () => new Promise<void>((resolve) => setImmediate(resolve));

const MODES: SamplingOptions[] = [
  {},
  { greedy: true },
  { temperature: 0.7 },
  { temperature: 1.3 },
  { topK: 40 },
  { topP: 0.9 },
  { topK: 100, topP: 0.8, temperature: 0.8 },
];

/** Logits [B, V]: normal (sd 3), or rounded to integers (many exact ties, for argmax). */
function randomLogits(B: number, V: number, seed: number, integer: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const t = tf.randomNormal([B, V], 0, 3, "float32", seed);
    return (integer ? tf.round(t) : t) as tf.Tensor2D;
  });
}

describe("on the wasm backend the sampler reads the logits in the backend's heap", () => {
  it("builds a module on the backend's memory", () => {
    expect(hostSampling()).toBe(true);
    expect(WebAssembly.validate(samplerKernelBytes(true))).toBe(true);
    const memory = (tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } }).wasm.asm.memory;
    const kernel = samplerKernelOn(memory);
    expect(kernel).not.toBeNull();
    expect(kernel!.memory).toBe(memory);
    expect(samplerKernelOn(memory)).toBe(kernel); // one instance per memory
  });

  for (const V of [8192, 8195, 301]) {
    for (const integer of [false, true]) {
      it(`draws the tensor sampler's tokens, every mode, 21 × ${V}${integer ? ", integer logits (ties)" : ""}, and leaves the logits as they were`, async () => {
        const B = 21; // two full groups of eight plain rows and a short one
        for (let batch = 0; batch < 2; batch++) {
          const logits = randomLogits(B, V, 100 * V + batch + (integer ? 7 : 0), integer);
          const before = Float32Array.from(logits.dataSync() as Float32Array);
          const instances = Int32Array.from({ length: B }, (_, i) => 3 * i + batch);
          const steps = Int32Array.from({ length: B }, (_, i) => (i * 7) % 5);
          for (const options of MODES) {
            const reference = tf.tidy(() => Array.from(sampleTokens(logits, options, 11, instances, steps).dataSync()));
            const onHeap = tf.tidy(() => Array.from(sampleOnBackend(logits, options, 11, instances, steps).dataSync()));
            const copied = Array.from(sampleTokensHost(Float32Array.from(before), V, options, 11, instances, steps));
            expect({ options, onHeap }).toEqual({ options, onHeap: reference });
            expect({ options, copied }).toEqual({ options, copied: reference });
          }
          const after = logits.dataSync() as Float32Array;
          let changed = 0;
          for (let i = 0; i < after.length; i++) if (!Object.is(after[i], before[i])) changed++;
          expect(changed).toBe(0);
          logits.dispose();
          await yieldToWorker();
        }
      });
    }
  }

  it("keeps drawing the same tokens after tfjs grows its heap", () => {
    const V = 8192;
    const logits = randomLogits(8, V, 5, false);
    const instances = Int32Array.from({ length: 8 }, (_, i) => i);
    const first = tf.tidy(() => Array.from(sampleOnBackend(logits, {}, 3, instances, instances).dataSync()));
    // A 64 MB tensor makes the backend grow its memory (a new buffer: older views detach).
    const big = tf.zeros([16 * 1024 * 1024], "float32");
    big.dataSync();
    const again = tf.tidy(() => Array.from(sampleOnBackend(logits, {}, 3, instances, instances).dataSync()));
    const reference = tf.tidy(() => Array.from(sampleTokens(logits, {}, 3, instances, instances).dataSync()));
    big.dispose();
    logits.dispose();
    expect(first).toEqual(reference);
    expect(again).toEqual(reference);
  });
});
