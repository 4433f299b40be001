/**
 * The profiled copy of the engine's loop must produce the engine's traces (so its timings
 * are the engine's step-by-step loop's), yielding as the engine does or after every step.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DecoderModel, smallConfig } from "../../../forge/model/index.js";
import { initBackend } from "../../../forge/backend/index.js";
import { makeBackend } from "../../../forge/session/backend.js";
import type { HfTokenizer } from "../../../forge/tokenizer/index.js";
import { loadGpt2Tokenizer8k } from "../../../bench/ttfa/gpt2-8k.js";
import { benchWorkflow } from "../../../bench/ttfa/setup.js";
import { profiledWave } from "../../../bench/ttfa/profiled-wave.js";

let model: DecoderModel;
let tokenizer: HfTokenizer;
const workflow = benchWorkflow(4);
const CAP = 340; // past the forced text before the first generating zone (328 tokens), into generated text

beforeAll(async () => {
  await initBackend("wasm");
  tokenizer = await loadGpt2Tokenizer8k();
  model = DecoderModel.random(smallConfig("gpt2", { vocabSize: 8192, hiddenSize: 32, layers: 2, heads: 2, maxPositions: 512 }), 3, { std: 0.5 });
});

const tokensOf = (traces: { tokens: Int32Array }[]) => traces.map((t) => Array.from(t.tokens));

describe("gpt2-8k tokenizer", () => {
  it("has 8 192 tokens and round-trips text", () => {
    expect(tokenizer.vocabSize).toBe(8192);
    expect(tokenizer.padId).toBe(8191);
    const text = "[Prompt] Answer the following question [Answer]";
    const ids = tokenizer.encode(text);
    expect(Math.max(...ids)).toBeLessThan(8191);
    expect(tokenizer.decode(ids)).toBe(text);
  });
});

describe("profiledWave", { timeout: 120_000 }, () => {
  it("records the same traces as a Forge run (host and tensor automaton)", async () => {
    const backend = await makeBackend(model, tokenizer);
    const run = await backend.run(workflow, { batchSize: 3, seed: 5, maxTokens: CAP, prefill: false, feedChunk: 1 });
    for (const form of ["host", "tensor"] as const) {
      const wave = await profiledWave(model, tokenizer, workflow, { batchSize: 3, seed: 5, maxTokens: CAP, form });
      expect(tokensOf(wave.traces)).toEqual(tokensOf(run.streams));
      expect(wave.steps).toBe(run.meta.steps);
      expect(wave.tokens).toBe(3 * CAP);
      expect(wave.generated).toBeGreaterThan(0);
      // One sample-phase record per sampled step (every step but the first), summing to the phase.
      expect(wave.sampleSteps).toHaveLength(wave.steps - 1);
      expect(wave.sampleSteps.reduce((sum, x) => sum + x.ms, 0)).toBeCloseTo(wave.phaseMs.sample, 6);
      for (let i = 1; i < wave.sampleSteps.length; i++) expect(wave.sampleSteps[i]!.at).toBeGreaterThan(wave.sampleSteps[i - 1]!.at);
    }
    const yielding = await profiledWave(model, tokenizer, workflow, { batchSize: 3, seed: 5, maxTokens: CAP, form: "host", yieldIntervalMs: 0 });
    expect(tokensOf(yielding.traces)).toEqual(tokensOf(run.streams));
  });
});
