/**
 * The sampler's share of a step (issue 21): the typed-array sampler the engine now uses on
 * wasm (sampleTokensHost through sampleOnBackend: one read of the logits, no tensor op)
 * against the tensor sampler it replaced (sampleTokens), in one process.
 *
 *   npx tsx bench/ttfa/sampler.ts            # PAIRS=3 STEPS=100 BATCH=64
 *
 * 1. In the loop: the profiled step-by-step wave (profiled-wave.ts: the engine's loop with a
 *    timer per phase) at batch 64 on the benchmark model (setup.ts, vocabulary 8 192),
 *    temperature 1 as in main.ts, alternating the two samplers PAIRS times; the "sample"
 *    phase is ms per step (logits read-back and token upload included), and its share of the
 *    whole step, by wall time and by CPU time (on a shared machine a phase's wall time also
 *    holds the time other tenants had the core). Both runs must record the same traces.
 * 2. Alone: each sampler on random logits [BATCH, 8 192] (normal, sd 3) per sampling mode,
 *    median ms per call over REPS calls, alternated.
 */
import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../forge/backend/index.js";
import { sampleOnBackend, sampleTokens, type SamplingOptions } from "../../forge/sampler/index.js";
import { benchModel, benchWorkflow } from "./setup.js";
import { loadGpt2Tokenizer8k } from "./gpt2-8k.js";
import { profiledWave, type ProfiledWave } from "./profiled-wave.js";

const PAIRS = Number(process.env.PAIRS ?? 3);
const STEPS = Number(process.env.STEPS ?? 100);
const BATCH = Number(process.env.BATCH ?? 64);
const REPS = Number(process.env.REPS ?? 15);
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(" / ");
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await initBackend("wasm");
const model = benchModel();
const tokenizer = await loadGpt2Tokenizer8k();
const workflow = benchWorkflow(16);
console.log(`Sampler share — wasm backend, ${model.name} (vocab ${model.config.vocabSize}), batch ${BATCH}, ${STEPS} steps per run, ${os.cpus().length} cores, load at start ${load()}.`);
console.log("");
console.log("| pair | sampler | sample ms / step | step ms | sample share | by CPU time: sample ms / step | step ms | share | load | same traces |");
console.log("|---:|---|---:|---:|---:|---:|---:|---:|---|---|");
const wave = (tensorSampler: boolean) => profiledWave(model, tokenizer, workflow, { batchSize: BATCH, seed: 1, maxTokens: STEPS, form: "host", tensorSampler });
await wave(false);
await wave(true);
const shares: Record<"host" | "tensor", number[]> = { host: [], tensor: [] };
const sampleMs: Record<"host" | "tensor", number[]> = { host: [], tensor: [] };
const cpuShares: Record<"host" | "tensor", number[]> = { host: [], tensor: [] };
const cpuSampleMs: Record<"host" | "tensor", number[]> = { host: [], tensor: [] };
for (let pair = 1; pair <= PAIRS; pair++) {
  const runs: [string, ProfiledWave][] = [];
  for (const tensorSampler of pair % 2 ? [true, false] : [false, true]) runs.push([tensorSampler ? "tensor" : "host", await wave(tensorSampler)]);
  const same = runs[0]![1].traces.every((t, s) => t.tokens.join() === runs[1]![1].traces[s]!.tokens.join());
  for (const [name, p] of runs) {
    const ms = p.phaseMs.sample / (p.steps - 1);
    const step = p.ms / p.steps;
    const cpuMs = p.phaseCpuMs.sample / (p.steps - 1);
    shares[name as "host"].push(p.phaseMs.sample / p.ms);
    sampleMs[name as "host"].push(ms);
    cpuShares[name as "host"].push(p.phaseCpuMs.sample / p.cpuMs);
    cpuSampleMs[name as "host"].push(cpuMs);
    console.log(
      `| ${pair} | ${name === "host" ? "typed arrays (engine)" : "tensor (before)"} | ${fmt(ms, 2)} | ${fmt(step, 1)} | ${fmt((100 * p.phaseMs.sample) / p.ms, 1)} % | ` +
        `${fmt(cpuMs, 2)} | ${fmt(p.cpuMs / p.steps, 1)} | ${fmt((100 * p.phaseCpuMs.sample) / p.cpuMs, 1)} % | ${load()} | ${same ? "yes" : "NO"} |`,
    );
  }
}
console.log("");
console.log(`Medians, wall: typed arrays ${fmt(median(sampleMs.host), 2)} ms (${fmt(100 * median(shares.host), 1)} % of a step), tensor ${fmt(median(sampleMs.tensor), 2)} ms (${fmt(100 * median(shares.tensor), 1)} %).`);
console.log(`Medians, CPU time: typed arrays ${fmt(median(cpuSampleMs.host), 2)} ms (${fmt(100 * median(cpuShares.host), 1)} % of a step), tensor ${fmt(median(cpuSampleMs.tensor), 2)} ms (${fmt(100 * median(cpuShares.tensor), 1)} %).`);

console.log("");
console.log(`Alone, random logits [${BATCH}, ${model.config.vocabSize}] (sd 3), median of ${REPS} calls, ms:`);
console.log("");
console.log("| sampling | typed arrays | tensor | ratio |");
console.log("|---|---:|---:|---:|");
const logits = tf.randomNormal([BATCH, model.config.vocabSize], 0, 3, "float32", 1) as tf.Tensor2D;
const instances = Int32Array.from({ length: BATCH }, (_, i) => i);
const modes: SamplingOptions[] = [{ greedy: true }, {}, { temperature: 0.7 }, { topK: 40 }, { topP: 0.9 }, { topK: 50, topP: 0.9 }];
for (const options of modes) {
  const times = { host: [] as number[], tensor: [] as number[] };
  for (let r = 0; r < REPS + 2; r++) {
    for (const [name, fn] of [["host", sampleOnBackend], ["tensor", sampleTokens]] as const) {
      const t0 = performance.now();
      const tokens = fn(logits, options, 1, instances, instances);
      tokens.dataSync();
      tokens.dispose();
      if (r >= 2) times[name].push(performance.now() - t0);
    }
  }
  const h = median(times.host);
  const t = median(times.tensor);
  console.log(`| ${JSON.stringify(options)} | ${fmt(h, 2)} | ${fmt(t, 2)} | ${fmt(t / h, 1)}× |`);
}
console.log(`\nload at end ${load()}.`);
