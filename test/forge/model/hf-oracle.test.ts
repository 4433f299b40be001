/**
 * Our loader and both paths of the decoder against an independent implementation: the
 * fixtures were written by fixtures/make_hf_fixtures.py, a NumPy transcription of
 * transformers' GPT-2 and Llama modeling code (float64), in the Hugging Face layout.
 */
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { loadModel } from "../../../forge/model/index.js";
import { maxAbsDiff, step } from "./helpers.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

beforeAll(async () => {
  await initBackend("wasm");
});

for (const name of ["gpt2-tiny", "llama-tiny"]) {
  describe(`${name} (Hugging Face layout, reference logits from NumPy)`, () => {
    const reference = JSON.parse(readFileSync(join(FIXTURES, name, "reference_logits.json"), "utf8")) as {
      sequences: number[][];
      logits: number[][][];
    };

    it("forward matches the reference within 1e-4", async () => {
      const { model } = await loadModel(join(FIXTURES, name));
      const got = tf.tidy(() => model.forward(reference.sequences).arraySync());
      let worst = 0;
      got.forEach((seq, b) => seq.forEach((row, t) => (worst = Math.max(worst, maxAbsDiff(row, reference.logits[b]![t]!)))));
      expect(worst).toBeLessThan(1e-4);
      model.dispose();
    });

    it("decode with the cache matches the reference within 1e-4", async () => {
      const { model } = await loadModel(join(FIXTURES, name));
      const [a, b] = reference.sequences as [number[], number[]];
      const cache = model.createCache(2, a.length);
      let worst = 0;
      for (let t = 0; t < a.length; t++) {
        const rows = step(model, cache, [a[t]!, b[t]!], [t, t]);
        worst = Math.max(worst, maxAbsDiff(rows[0]!, reference.logits[0]![t]!), maxAbsDiff(rows[1]!, reference.logits[1]![t]!));
      }
      expect(worst).toBeLessThan(1e-4);
      cache.dispose();
      model.dispose();
    });
  });
}
