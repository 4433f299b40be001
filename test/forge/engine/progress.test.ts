/**
 * Progress (issue #19.7): generated and forced tokens apart, and a fraction and time left
 * from decode steps against the steps the workflow's zones and max_gen bounds lead to expect.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { ProgressEstimator, type Progress, type ProgressSample } from "../../../forge/engine/progress.js";
import { expectedStream } from "../../../forge/engine/batch/expected.js";
import { planSharedPrefix } from "../../../forge/engine/batch/prefix.js";
import { compileForBackend } from "../../../forge/ttfa/index.js";
import { randomByteModel, seedExample } from "./helpers.js";

/**
 * A recorded run: 64 streams at batch 64, 442 decode steps each after a shared prefix (the
 * bench's seed example: 770 tokens, 328 of them the prefix), 70 ms a step, every stream to its
 * max_gen bounds — the run of issue #19.7 (31 s). Samples every 250 ms, as the clock reports.
 */
function recordedRun(stepMs: number, steps: number, finishAt = steps): ProgressSample[] {
  const samples: ProgressSample[] = [];
  for (let t = 250; t <= steps * stepMs; t += 250) {
    const step = Math.floor(t / stepMs);
    const done = step >= finishAt ? 64 : 0;
    samples.push({ steps: step, elapsedMs: t, streamsDone: done, finishedTokens: done * (328 + finishAt) });
  }
  return samples;
}

describe("ProgressEstimator on a recorded run", () => {
  const plan = { streams: 64, slots: 64, streamTokens: 770, streamSteps: 442 };

  it("gives the time left within 5 % from the first second, and half done at half time", () => {
    const estimator = new ProgressEstimator(plan);
    const total = 442 * 70;
    const samples = recordedRun(70, 442);
    const atOneSecond = samples.find((s) => s.elapsedMs === 1_000)!;
    expect(Math.abs(estimator.etaMs(atOneSecond)! - (total - 1_000)) / (total - 1_000)).toBeLessThan(0.05);
    const atHalf = samples.find((s) => s.elapsedMs >= total / 2)!;
    expect(estimator.fraction(atHalf)).toBeCloseTo(0.5, 1);
    // Never backwards, never past 1 while running.
    const fractions = samples.map((s) => estimator.fraction(s)!);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]!).toBeGreaterThanOrEqual(fractions[i - 1]!);
    expect(Math.max(...fractions)).toBeLessThan(1);
  });

  it("has no time left to give before the first step", () => {
    expect(new ProgressEstimator(plan).etaMs({ steps: 0, elapsedMs: 300, streamsDone: 0, finishedTokens: 0 })).toBeNull();
  });

  it("scales the plan down when streams finish before their max_gen bounds", () => {
    // Two waves of 8; streams end at 60 % of the planned tokens, after 60 % of the planned steps.
    const estimator = new ProgressEstimator({ streams: 16, slots: 8, streamTokens: 100, streamSteps: 100 });
    const beforeAnyFinished: ProgressSample = { steps: 59, elapsedMs: 5_900, streamsDone: 0, finishedTokens: 0 };
    expect(estimator.fraction(beforeAnyFinished)).toBeCloseTo(59 / 200, 5);
    const firstWaveDone: ProgressSample = { steps: 60, elapsedMs: 6_000, streamsDone: 8, finishedTokens: 8 * 60 };
    expect(estimator.expectedSteps(firstWaveDone)).toBeCloseTo(120, 5);
    expect(estimator.fraction(firstWaveDone)).toBeCloseTo(0.5, 5);
    expect(estimator.etaMs(firstWaveDone)).toBeCloseTo(6_000, 5);
  });

  it("never expects fewer steps than already taken", () => {
    const estimator = new ProgressEstimator({ streams: 4, slots: 4, streamTokens: 10, streamSteps: 10 });
    const sample = { steps: 25, elapsedMs: 1_000, streamsDone: 0, finishedTokens: 0 };
    expect(estimator.expectedSteps(sample)).toBe(26);
    expect(estimator.fraction(sample)).toBeLessThan(1);
  });
});

describe("expectedStream", () => {
  it("runs the zones to their bounds: decode steps are the tokens past the shared prefix, forced runs in chunks", () => {
    const program = compileForBackend(seedExample().factory(), new forge.ByteTokenizer());
    const P = planSharedPrefix(program, true, 1_500)!.steps;
    const one = expectedStream(program, 1_500, 0, 1);
    expect(one.tokens).toBe(1_500); // the seed example at max_gen 6 is longer than the cap
    expect(one.steps).toBe(1_500);
    expect(expectedStream(program, 1_500, P, 1).steps).toBe(1_500 - P);
    const chunked = expectedStream(program, 1_500, P, 16);
    expect(chunked.steps).toBeLessThan((1_500 - P) / 4);
    expect(chunked.steps).toBeGreaterThan((1_500 - P) / 16);
  });
});

describe("the engine's progress reports", { timeout: 300_000 }, () => {
  let backend: forge.ForgeBackend;
  beforeAll(async () => {
    await forge.initBackend("wasm");
    backend = await forge.makeBackend(randomByteModel(), new forge.ByteTokenizer());
  });

  it("count generated and forced tokens apart, and estimate the fraction from the first report", async () => {
    const reports: Progress[] = [];
    const run = await backend.run(seedExample().factory(), { batchSize: 4, instances: 6, seed: 2, maxTokens: 1_200, onProgress: (p) => reports.push(p) });
    const last = reports.at(-1)!;
    let generated = 0;
    let forced = 0;
    for (const stream of run.streams) for (const f of stream.forced) f ? forced++ : generated++;
    expect([last.finished, last.generatedTokens, last.forcedTokens, last.tokens]).toEqual([true, generated, forced, generated + forced]);
    expect(last.fraction).toBe(1);
    expect(generated).toBeGreaterThan(0);
    const running = reports.slice(0, -1);
    expect(running.length).toBeGreaterThan(0);
    for (const p of running) {
      expect(p.generatedTokens + p.forcedTokens).toBe(p.tokens);
      expect(p.fraction).toBeGreaterThan(0);
      expect(p.fraction).toBeLessThan(1);
      expect(p.etaMs).not.toBeNull();
      expect(p.generatedTokensPerSecond).toBeLessThanOrEqual(p.tokensPerSecond);
    }
    // Every stream runs to maxTokens here, as the plan expects: the fraction is the share of
    // decode steps (the run's steps less the shared prefix's, which cost none).
    const decodeSteps = run.meta.steps - run.meta.sharedPrefixTokens!;
    expect(last.step).toBe(decodeSteps);
    for (const p of running) expect(p.fraction).toBeCloseTo(p.step / decodeSteps, 1);
  });
});
