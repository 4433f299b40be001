import * as tf from "@tensorflow/tfjs";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { loadModel } from "../../../forge/model/index.js";
import { loadTokenizer } from "../../../forge/tokenizer/index.js";
import {
  SMOKE_CONFIG, SMOKE_TRAINING, SEPARATOR_ID, generateCorpus, learningRateAt, packCorpus, runTraining, trainModel, TrainingError,
  transcriptOrder, transcriptSpans, transcriptText,
} from "../../../scripts/training/index.js";

beforeAll(async () => {
  await initBackend("wasm");
});

const root = mkdtempSync(join(tmpdir(), "forge-training-"));
const repo = new URL("../../../", import.meta.url).pathname;

describe("training (CI smoke: a few steps on a small corpus)", () => {
  it("writes a Hugging Face folder that forge/model's loadModel reads back to the same model", async () => {
    const out = join(root, "smoke");
    const result = await runTraining({ config: SMOKE_CONFIG, plan: SMOKE_TRAINING, out, command: "test" });
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "training-log.txt", "COMMAND.txt"]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, "COMMAND.txt"), "utf8").trim()).toBe("test");
    expect(readFileSync(join(out, "training-log.txt"), "utf8")).toMatch(/step\s+4 loss \d/);
    const loaded = await loadModel(out);
    expect(loaded.config).toEqual(SMOKE_CONFIG);
    expect(loaded.sampling).toEqual({ topP: 0.9 }); // the recipe's generation_config.json
    const ids = [[72, 105, 91, 69, 79, 83, 93, 256]];
    const a = result.model.forward(ids);
    const b = loaded.model.forward(ids);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
    // Its tokenizer is the byte-level one: ids are bytes, 256 is end-of-text.
    const tokenizer = await loadTokenizer(loaded.tokenizerJsonPath);
    expect(tokenizer.encode("[EOS]")).toEqual([...Buffer.from("[EOS]")]);
    expect(tokenizer.vocabSize).toBe(257);
  });

  it("is deterministic for a seed", async () => {
    const a = join(root, "det-a");
    const b = join(root, "det-b");
    await runTraining({ config: SMOKE_CONFIG, plan: SMOKE_TRAINING, out: a, command: "a" });
    await runTraining({ config: SMOKE_CONFIG, plan: SMOKE_TRAINING, out: b, command: "b" });
    expect(readFileSync(join(a, "model.safetensors")).equals(readFileSync(join(b, "model.safetensors")))).toBe(true);
    const c = join(root, "det-c");
    await runTraining({ config: SMOKE_CONFIG, plan: { ...SMOKE_TRAINING, seed: 2 }, out: c, command: "c" });
    expect(readFileSync(join(a, "model.safetensors")).equals(readFileSync(join(c, "model.safetensors")))).toBe(false);
  });

  it("continues a saved model and records both commands and logs", async () => {
    const first = join(root, "resume-a");
    const second = join(root, "resume-b");
    await runTraining({ config: SMOKE_CONFIG, plan: SMOKE_TRAINING, out: first, command: "first" });
    const result = await runTraining({ config: SMOKE_CONFIG, plan: { ...SMOKE_TRAINING, seed: 2 }, out: second, command: "second", resume: first });
    expect(readFileSync(join(second, "COMMAND.txt"), "utf8")).toBe("first\nsecond\n");
    const log = readFileSync(join(second, "training-log.txt"), "utf8");
    expect(log.match(/^done: 4 steps/gm)).toHaveLength(2);
    expect(log).toContain("continuing from the given weights");
    expect(readFileSync(join(first, "model.safetensors")).equals(readFileSync(join(second, "model.safetensors")))).toBe(false);
    expect(result.log[0]).toMatch(/^model llama/);
    await expect(runTraining({ config: { ...SMOKE_CONFIG, layers: 2 }, plan: SMOKE_TRAINING, out: join(root, "resume-c"), command: "x", resume: first })).rejects.toThrow(/config\.json differs/);
  });

  it("lowers the loss on the corpus", () => {
    const corpus = packCorpus(generateCorpus({ seed: 4, bytes: 30_000 }), { separator: SEPARATOR_ID, forcedWeight: 0.2 });
    const result = trainModel(SMOKE_CONFIG, corpus, { ...SMOKE_TRAINING, steps: 40, logEvery: 10, batchSize: 2, seqLen: 128 });
    const losses = result.log.filter((l) => l.startsWith("step")).map((l) => Number(/loss (\S+)/.exec(l)![1]));
    expect(losses).toHaveLength(4);
    expect(losses[3]!).toBeLessThan(losses[0]! - 0.5);
  });

  it("trains on whole transcripts, each from position 0, packed up to the step's token budget", () => {
    const transcripts = generateCorpus({ seed: 5, bytes: 3_000 });
    const corpus = packCorpus(transcripts, { separator: SEPARATOR_ID, forcedWeight: 0.2 });
    const spans = transcriptSpans(corpus, 10_000);
    expect(spans.map((s) => s.length)).toEqual(transcripts.map((t) => Buffer.byteLength(transcriptText(t))));
    // The last target of each span is the separator, which is never scored.
    for (const s of spans) {
      expect(corpus.tokens[s.start + s.length]).toBe(SEPARATOR_ID);
      expect(corpus.weights[s.start + s.length - 1]).toBe(0);
    }
    expect(transcriptSpans(corpus, 50).every((s) => s.length <= 50)).toBe(true);
    const order = transcriptOrder(spans.length, 1);
    expect([...order].sort((a, b) => a - b)).toEqual(spans.map((_, i) => i));
    expect([...transcriptOrder(spans.length, 2)]).not.toEqual([...order]);
    const result = trainModel(SMOKE_CONFIG, corpus, { ...SMOKE_TRAINING, steps: 2, batchSize: 2, seqLen: 256 });
    expect(result.tokensSeen).toBeGreaterThan(0);
    expect(result.tokensSeen).toBeLessThanOrEqual(2 * 2 * 256 * 2);
  });

  it("warms the learning rate up, then decays it to its floor", () => {
    const o = { steps: 100, learningRate: 1, warmupSteps: 10, minLrRatio: 0.1 };
    expect(learningRateAt(0, o)).toBeCloseTo(0.1);
    expect(learningRateAt(9, o)).toBeCloseTo(1);
    expect(learningRateAt(55, o)).toBeCloseTo(0.55, 2);
    expect(learningRateAt(99, o)).toBeCloseTo(0.1, 2);
  });

  it("names a bad option", () => {
    const corpus = packCorpus(generateCorpus({ seed: 4, bytes: 2_000 }), { separator: SEPARATOR_ID, forcedWeight: 0.2 });
    expect(() => trainModel(SMOKE_CONFIG, corpus, { ...SMOKE_TRAINING, steps: 0 })).toThrow(/training option steps must be a positive integer, got 0/);
    expect(() => trainModel(SMOKE_CONFIG, corpus, { ...SMOKE_TRAINING, seqLen: 4096 })).toThrow(TrainingError);
    const empty = packCorpus([], { separator: SEPARATOR_ID, forcedWeight: 0.2 });
    expect(() => trainModel(SMOKE_CONFIG, empty, SMOKE_TRAINING)).toThrow(/corpus \(0 tokens\) holds no transcript to train on/);
  });

  it("runs as `npm run train:model -- --smoke` and reports a bad argument without a stack trace", () => {
    const out = join(root, "cli");
    execFileSync("npx", ["tsx", "scripts/train-model.ts", "--smoke", "--out", out], { cwd: repo, stdio: "pipe" });
    expect(existsSync(join(out, "model.safetensors"))).toBe(true);
    expect(readFileSync(join(out, "COMMAND.txt"), "utf8")).toMatch(/scripts\/train-model\.ts --smoke --out/);
    const bad = spawnSync("npx", ["tsx", "scripts/train-model.ts", "--smoke", "--steps", "many"], { cwd: repo, encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('train-model: --steps must be a non-negative integer, got "many"');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
