/**
 * Engine speed (issue 17): the tfjs engine against the ONNX Runtime engine, in one process,
 * on a SmolLM2-135M-shaped model with random weights (shape.ts) and a GPT-2 BPE cut to its
 * 49 152 tokens (bench/ttfa/gpt2-8k.ts), with the project's sampler and automaton in the loop.
 *
 *   npm run bench:engine
 *   BATCHES=1,64 RAW_STEPS=8 FORGE_MAX_TOKENS=380 npm run bench:engine   # shorter
 *
 * RAW_STEPS defaults to 64 (was 24 until 5 Dec, 13:40 UTC): a 24-step pair at batch 64 is ≈ 3 s
 * of ONNX work, so one burst of load on a shared machine moved Forge/raw anywhere from 0.3 to
 * 1.4 (bench/engine/README.md, "Where the seed run's step goes"); and each batch size is now
 * warmed up at that batch (2 raw steps) before it is timed, so the first timed row no longer
 * pays ONNX Runtime's first run at a new shape.
 *
 * Per batch and engine (tfjs first, then onnx, so load drift hits both alike):
 * - raw: StepModel.decode → the engine's sampler (sampleOnBackend, temperature 1) → the token
 *   fed back; no automaton; RAW_STEPS steps from an empty cache. Weight GFLOP/s = batch ×
 *   the weight products' FLOPs per token (shape.ts) ÷ seconds per step (attention and the
 *   sampler not counted, so this understates the arithmetic done).
 * - Forge step-by-step: the seed example with prefill off, capped at RAW_STEPS tokens per
 *   stream, so the model does the raw loop's work; Forge/raw = raw wall ÷ Forge wall.
 * - Forge seed run: the seed example with the engine defaults (shared-prefix prefill),
 *   capped at FORGE_MAX_TOKENS tokens per stream (the prefix is ≈ 330 of them).
 * Wall and CPU seconds (process.cpuUsage, all threads) and the load average beside each row:
 * the machine is shared, so the in-process ratios are the figures to read. "By CPU time"
 * columns divide by CPU seconds instead of wall seconds (GFLOP per CPU-second: × 2 cores for
 * what an idle machine would give).
 * The last line: the seed run's wall time on tfjs ÷ on onnx at batch 64.
 */
import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../forge/backend/index.js";
import { ForgeBackend, makeBackend } from "../../forge/session/backend.js";
import { tfjsStepModel, type StepModel } from "../../forge/model/step-model.js";
import { OnnxStepModel } from "../../forge/backend/onnx/model.js";
import type { Run } from "../../forge/run/types.js";
import { smolModel, SMOL_135M, weightFlopsPerToken } from "./shape.js";
import { rawDecodeLoop } from "./decode-loop.js";
import { loadGpt2TokenizerCut } from "../ttfa/gpt2-8k.js";
import { benchWorkflow } from "../ttfa/setup.js";

const BATCHES = (process.env.BATCHES ?? "1,16,64").split(",").map(Number);
const RAW_STEPS = Number(process.env.RAW_STEPS ?? 64);
const FORGE_MAX_TOKENS = Number(process.env.FORGE_MAX_TOKENS ?? 400);
const MAX_GEN = Number(process.env.MAX_GEN ?? 16);
/** fp32 peak of this machine's two cores (issue 17). */
const PEAK_GFLOPS = Number(process.env.PEAK_GFLOPS ?? 230);

const load = () => os.loadavg()[0]!.toFixed(1);
const fmt = (x: number, digits = 1) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function timed<T>(f: () => Promise<T> | T): Promise<{ value: T; wall: number; cpu: number; load: string }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const cu = process.cpuUsage(c0);
  return { value, wall: (performance.now() - t0) / 1000, cpu: (cu.user + cu.system) / 1e6, load: load() };
}

const tokensOf = (run: Run) => run.streams.reduce((n, s) => n + s.tokens.length, 0);

await initBackend("wasm");
const startedAt = new Date();
const loadAtStart = load();
const CONFIG = { ...SMOL_135M, layers: Number(process.env.LAYERS ?? SMOL_135M.layers) }; // LAYERS: a shallower model for a quick check
const built = await timed(() => smolModel(CONFIG));
const model = built.value;
const onnxBuilt = await timed(() => OnnxStepModel.fromDecoder(model));
const tokenizer = await loadGpt2TokenizerCut(SMOL_135M.vocabSize);
const workflow = benchWorkflow(MAX_GEN);
const tfjsBackend = await makeBackend(model, tokenizer, { engine: "tfjs", sampling: {} });
// The same backend with the ONNX engine built above (makeBackend would build a second session).
const onnxBackend = new ForgeBackend({ model, tokenizer, tools: {}, backend: tfjsBackend.info().backend, engine: onnxBuilt.value as unknown as StepModel }, {});
const engines: Array<{ name: string; step: StepModel; backend: ForgeBackend }> = [
  { name: "tfjs", step: tfjsStepModel(model), backend: tfjsBackend },
  { name: "onnx", step: onnxBuilt.value as unknown as StepModel, backend: onnxBackend },
];
const flops = weightFlopsPerToken(CONFIG);
console.log(
  `Engine bench — ${model.name} (${(flops / 2e6).toFixed(0)} M weight multiply-adds per token), tfjs ${tf.getBackend()} vs onnxruntime-node ` +
    `(${onnxBuilt.value.threads} threads); ${os.cpus().length} cores; load at start ${loadAtStart}; random model ${fmt(built.wall)} s, ONNX graph + session ${fmt(onnxBuilt.wall)} s.`,
);
// Warm-up: first calls compile kernels and plan memory; the first request compiles the
// workflow's trigger tables for this tokenizer.
for (const e of engines) {
  rawDecodeLoop(e.step, 2, 2);
  await e.backend.run(workflow, { batchSize: 1, seed: 1, prefill: false, maxTokens: 2 });
}

interface Row {
  batch: number;
  engine: string;
  raw: { tokS: number; wall: number; cpu: number; gflops: number; load: string };
  forgeStep: { tokS: number; wall: number; cpu: number; ratio: number; cpuRatio: number; load: string };
  seed: { wall: number; cpu: number; tokS: number; load: string; tokens: number[][] };
}
const rows: Row[] = [];
for (const batch of BATCHES) {
  for (const e of engines) {
    rawDecodeLoop(e.step, batch, 2); // warm-up at this batch size
    const raw = await timed(() => rawDecodeLoop(e.step, batch, RAW_STEPS));
    const step = await timed(() => e.backend.run(workflow, { batchSize: batch, seed: 1, prefill: false, maxTokens: RAW_STEPS }));
    const seed = await timed(() => e.backend.run(workflow, { batchSize: batch, seed: 1, maxTokens: FORGE_MAX_TOKENS }));
    const row: Row = {
      batch,
      engine: e.name,
      raw: { tokS: raw.value / raw.wall, wall: raw.wall, cpu: raw.cpu, gflops: (raw.value * flops) / raw.wall / 1e9, load: raw.load },
      forgeStep: { tokS: tokensOf(step.value) / step.wall, wall: step.wall, cpu: step.cpu, ratio: raw.wall / step.wall, cpuRatio: raw.cpu / step.cpu, load: step.load },
      seed: { wall: seed.wall, cpu: seed.cpu, tokS: tokensOf(seed.value) / seed.wall, load: seed.load, tokens: seed.value.streams.map((s) => Array.from(s.tokens)) },
    };
    rows.push(row);
    console.error(`  batch ${batch} ${e.name}: raw ${fmt(row.raw.tokS)} tok/s, Forge/raw ${row.forgeStep.ratio.toFixed(3)}, seed run ${fmt(seed.wall)} s (load ${seed.load})`);
  }
}

console.log(`\nRun ${startedAt.toISOString()}, ${RAW_STEPS} raw steps, seed runs capped at ${FORGE_MAX_TOKENS} tokens per stream (zones capped at ${MAX_GEN}), temperature 1.\n`);
console.log("| batch | engine | raw tok/s (wall s / CPU s) | weight GFLOP/s (% of fp32 peak) | by CPU time | Forge step-by-step tok/s | Forge / raw | by CPU time | Forge seed run s (CPU s) | seed run tok/s | load |");
console.log("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
for (const r of rows)
  console.log(
    `| ${r.batch} | ${r.engine} | ${fmt(r.raw.tokS)} (${fmt(r.raw.wall)} / ${fmt(r.raw.cpu)}) | ${fmt(r.raw.gflops)} (${fmt((100 * r.raw.gflops) / PEAK_GFLOPS, 0)} %) | ${fmt((r.raw.gflops * r.raw.wall) / r.raw.cpu)} | ${fmt(r.forgeStep.tokS)} | ${r.forgeStep.ratio.toFixed(3)} | ${r.forgeStep.cpuRatio.toFixed(3)} | ${fmt(r.seed.wall)} (${fmt(r.seed.cpu)}) | ${fmt(r.seed.tokS)} | ${r.raw.load} / ${r.forgeStep.load} / ${r.seed.load} |`,
  );
console.log("\n| batch | onnx ÷ tfjs: raw tok/s | by CPU time | Forge seed run (wall) | by CPU time | same sampled tokens |");
console.log("|---:|---:|---:|---:|---:|---|");
const speedups = new Map<number, number>();
for (const batch of BATCHES) {
  const t = rows.find((r) => r.batch === batch && r.engine === "tfjs")!;
  const o = rows.find((r) => r.batch === batch && r.engine === "onnx")!;
  const same = o.seed.tokens.filter((s, i) => JSON.stringify(s) === JSON.stringify(t.seed.tokens[i])).length;
  speedups.set(batch, t.seed.wall / o.seed.wall);
  console.log(`| ${batch} | ${(o.raw.tokS / t.raw.tokS).toFixed(2)}× | ${(t.raw.cpu / o.raw.cpu).toFixed(2)}× | ${(t.seed.wall / o.seed.wall).toFixed(2)}× | ${(t.seed.cpu / o.seed.cpu).toFixed(2)}× | ${same}/${batch} streams |`);
}
const headline = speedups.get(64) ?? speedups.get(Math.max(...BATCHES))!;
console.log(`\nengine speed-up at batch ${speedups.has(64) ? 64 : Math.max(...BATCHES)}: ${headline.toFixed(1)}×`);
