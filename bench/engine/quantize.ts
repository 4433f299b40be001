/**
 * 8-bit weights on the ONNX engine (issue 17): what they cost in quality and what they give in
 * speed and memory, in one process.
 *
 *   npx tsx bench/engine/quantize.ts
 *   STEPS=12 BATCHES=1,64 npx tsx bench/engine/quantize.ts     # shorter
 *
 * Quality, on the project's own model (models/forge-tiny, trained) and the seed example: the
 * f32 engine's greedy run (8 streams), then both engines fed those exact token streams
 * (teacher forcing), comparing each position's argmax — all positions, and the positions whose
 * next token the model generated (not forced). Then the int8 engine's own greedy run: streams
 * identical to f32's, and where the first difference falls.
 * Speed and memory, on the SmolLM2-135M shape (shape.ts, random weights): STEPS decode steps
 * at each batch for f32 and int8 (sampler in the loop as bench/engine/main.ts's raw loop),
 * wall and CPU seconds, weight GFLOP/s; the RSS each session added when it was built.
 *
 * The int8 KV cache (PART=kv; weights f32, or WEIGHTS=int8): the f32-cache and int8-cache
 * engines on the 135M shape in one process, alternating, ROUNDS times each —
 * - the seed example as bench/engine/main.ts's "Forge seed run" (batch 64, shared-prefix
 *   prefill, FORGE_MAX_TOKENS tokens per stream, the GPT-2 BPE cut to 49 152 tokens);
 * - raw decode at batch 64 at longer contexts: every row's own columns written directly
 *   through the cache to CONTEXTS columns (random values; int8 codes from the same values),
 *   then STEPS decode steps (attention reads them all);
 * wall and CPU seconds; the last line is the seed run's int8 ÷ f32 CPU-time ratio.
 *   PART=kv npx tsx bench/engine/quantize.ts
 * Its quality (PART=kvquality): on forge-tiny (8 greedy streams of the seed example) and on the
 * 135M shape (STREAMS greedy streams of the seed example, GPT-2 BPE cut), both caches fed the
 * f32 cache's streams: max |Δlogit| and next-token agreement; the int8 cache's own greedy
 * streams identical to f32's.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { initBackend } from "../../forge/backend/index.js";
import { ForgeBackend } from "../../forge/session/backend.js";
import { loadModel, type DecoderModel } from "../../forge/model/index.js";
import { OnnxStepModel } from "../../forge/backend/onnx/model.js";
import type { StepModel } from "../../forge/model/step-model.js";
import { loadTokenizer, type ForgeTokenizer } from "../../forge/tokenizer/index.js";
import type { Run } from "../../forge/run/types.js";
import { benchWorkflow } from "../ttfa/setup.js";
import { smolModel, SMOL_135M, weightFlopsPerToken } from "./shape.js";
import { decodeSteps, rawDecodeLoop } from "./decode-loop.js";
import { loadGpt2TokenizerCut } from "../ttfa/gpt2-8k.js";

const STEPS = Number(process.env.STEPS ?? 24);
const BATCHES = (process.env.BATCHES ?? "1,64").split(",").map(Number);
const PEAK_GFLOPS = Number(process.env.PEAK_GFLOPS ?? 230);
const load = () => os.loadavg()[0]!.toFixed(1);
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

function argmaxRows(logits: Float32Array, rows: number, vocab: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[r * vocab + v]! > logits[r * vocab + best]!) best = v;
    out[r] = best;
  }
  return out;
}

/** Both models fed the same streams token by token; counts where their argmax agree. */
function teacherForced(models: [StepModel, StepModel], run: Run, vocab: number) {
  const streams = run.streams;
  const B = streams.length;
  const T = Math.max(...streams.map((s) => s.tokens.length));
  const caches = models.map((m) => m.createCache(B, T + 1));
  const positions = new Int32Array(B);
  let all = 0, allSame = 0, generated = 0, generatedSame = 0, worst = 0, largest = 0;
  for (let t = 0; t < T - 1; t++) {
    const tokens = Int32Array.from(streams, (s) => (t < s.tokens.length ? s.tokens[t]! : 0));
    const active = Uint8Array.from(streams, (s) => (t < s.tokens.length - 1 ? 1 : 0));
    const picks = models.map((m, i) => {
      const logits = m.decode(caches[i]!, tokens, positions, active);
      const data = logits.dataSync() as Float32Array;
      logits.dispose();
      return { data, argmax: argmaxRows(data, B, vocab) };
    });
    for (let b = 0; b < B; b++)
      if (active[b])
        for (let v = 0; v < vocab; v++) {
          worst = Math.max(worst, Math.abs(picks[0]!.data[b * vocab + v]! - picks[1]!.data[b * vocab + v]!));
          largest = Math.max(largest, Math.abs(picks[0]!.data[b * vocab + v]!));
        }
    streams.forEach((s, b) => {
      if (!active[b]) return;
      all++;
      const same = picks[0]!.argmax[b] === picks[1]!.argmax[b];
      if (same) allSame++;
      if (!s.forced[t + 1]) {
        generated++;
        if (same) generatedSame++;
      }
      positions[b]!++;
    });
  }
  caches.forEach((c) => c.dispose());
  return { all, allSame, generated, generatedSame, worst, largest };
}


const backendName = await initBackend("wasm");
console.log(`8-bit weights on the ONNX engine — ${new Date().toISOString()}, ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);

const PART = process.env.PART ?? "all";
/** Peak resident set of this process so far (Linux), MiB. */
function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

// ---- quality: the project's model --------------------------------------------------------
if (PART === "all" || PART === "quality") {
  const folder = "models/forge-tiny";
  const { model } = (await loadModel(folder)) as { model: DecoderModel };
  const tokenizer = await loadTokenizer(folder);
  const f32 = await OnnxStepModel.fromDecoder(model, { weights: "f32" });
  const int8 = await OnnxStepModel.fromDecoder(model, { weights: "int8" });
  const backendOf = (step: OnnxStepModel) => new ForgeBackend({ model, tokenizer, tools: {}, backend: backendName, engine: step }, {});
  const workflow = benchWorkflow(64);
  // The model reads bytes: the seed example's forced text alone is ≈ 1 000 tokens.
  const options = { batchSize: 8, seed: 1, greedy: true, maxTokens: 2000 };
  const runF = await backendOf(f32).run(workflow, options);
  const runQ = await backendOf(int8).run(workflow, options);
  const tf = teacherForced([f32, int8], runF, model.config.vocabSize);
  const identical = runQ.streams.filter((s, i) => s.tokens.join() === runF.streams[i]!.tokens.join()).length;
  const firstDiff = runQ.streams.map((s, i) => {
    const a = runF.streams[i]!.tokens;
    let k = 0;
    while (k < a.length && k < s.tokens.length && a[k] === s.tokens[k]) k++;
    return k;
  });
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(2)} %`;
  console.log(`Quality — ${folder} (${model.config.layers} layers, hidden ${model.config.hiddenSize}), seed example, 8 greedy streams of ≤ 2 000 tokens:`);
  console.log(`- teacher-forced next-token agreement int8 vs f32: all positions ${tf.allSame}/${tf.all} (${pct(tf.allSame, tf.all)}), generated positions ${tf.generatedSame}/${tf.generated} (${pct(tf.generatedSame, tf.generated)})`);
  console.log(`- int8's own greedy run: ${identical}/8 streams identical to f32's; first difference at tokens ${firstDiff.join(", ")} (stream lengths ${runF.streams.map((s) => s.tokens.length).join(", ")})\n`);
}

// ---- memory: one session alone (PART=memory WEIGHTS=f32|int8, one process each) ----------
if (PART === "memory") {
  const weights = (process.env.WEIGHTS ?? "f32") as "f32" | "int8";
  const model = smolModel();
  const afterTfjs = peakRssMiB();
  const step = await OnnxStepModel.fromDecoder(model, { weights });
  const afterBuild = peakRssMiB();
  global.gc?.();
  const settled = rssMiB();
  rawDecodeLoop(step, 64, STEPS);
  console.log(`Memory — ${weights}: peak RSS ${afterTfjs.toFixed(0)} MiB with the tfjs weights, ${afterBuild.toFixed(0)} MiB after building the session (the graph's bytes and host copies alive at once), RSS ${settled.toFixed(0)} MiB once they are collected, peak ${peakRssMiB().toFixed(0)} MiB after ${STEPS} steps at batch 64`);
}

// ---- speed: the 135M shape ------------------------------------------------------------------
if (PART === "all" || PART === "speed") {
  const model = smolModel();
  const flops = weightFlopsPerToken(SMOL_135M);
  const r0 = rssMiB();
  const f32 = await OnnxStepModel.fromDecoder(model, { weights: "f32" });
  const r1 = rssMiB();
  const int8 = await OnnxStepModel.fromDecoder(model, { weights: "int8" });
  const r2 = rssMiB();
  console.log(`Speed — SmolLM2-135M shape, random weights, ${f32.threads} ONNX threads, ${STEPS} decode steps per row (sampler in the loop). RSS added by the session: f32 ${(r1 - r0).toFixed(0)} MiB, int8 ${(r2 - r1).toFixed(0)} MiB.\n`);
  console.log("| batch | weights | tok/s | wall s | CPU s | weight GFLOP/s (% of fp32 peak) | by CPU time | load |");
  console.log("|---:|---|---:|---:|---:|---:|---:|---|");
  for (const batch of BATCHES) {
    const results: Array<{ name: string; wall: number; cpu: number }> = [];
    for (const [name, m] of [["f32", f32], ["int8", int8]] as const) {
      rawDecodeLoop(m, Math.min(batch, 2), 2); // warm-up
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const n = rawDecodeLoop(m, batch, STEPS);
      const wall = (performance.now() - t0) / 1000;
      const cu = process.cpuUsage(c0);
      const cpu = (cu.user + cu.system) / 1e6;
      const gflops = (n * flops) / wall / 1e9;
      results.push({ name, wall, cpu });
      console.log(`| ${batch} | ${name} | ${(n / wall).toFixed(1)} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${gflops.toFixed(1)} (${((100 * gflops) / PEAK_GFLOPS).toFixed(0)} %) | ${((n * flops) / cpu / 1e9).toFixed(1)} | ${load()} |`);
    }
    const [a, b] = [results[0]!, results[1]!];
    console.log(`| ${batch} | int8 ÷ f32 | ${(a.wall / b.wall).toFixed(2)}× | | by CPU ${(a.cpu / b.cpu).toFixed(2)}× | | | |`);
  }
}

// ---- the int8 KV cache against the f32 one: speed at batch 64 ------------------------------
if (PART === "kv") {
  const weights = (process.env.WEIGHTS ?? "f32") as "f32" | "int8";
  const ROUNDS = Number(process.env.ROUNDS ?? 2);
  const KV_STEPS = Number(process.env.STEPS ?? 8);
  const CONTEXTS = (process.env.CONTEXTS ?? "256,1024").split(",").map(Number);
  const FORGE_MAX_TOKENS = Number(process.env.FORGE_MAX_TOKENS ?? 400);
  const model = smolModel();
  // Both with the engine's default arena (on), or $FORGE_ONNX_ARENA for both.
  const engines = [
    { name: "f32 KV", step: await OnnxStepModel.fromDecoder(model, { weights, kvCache: "f32" }) },
    { name: "int8 KV", step: await OnnxStepModel.fromDecoder(model, { weights, kvCache: "int8" }) },
  ];
  model.releaseWeights();
  const tokenizer = await loadGpt2TokenizerCut(SMOL_135M.vocabSize);
  const workflow = benchWorkflow(16);
  const backends = engines.map((e) => new ForgeBackend({ model, tokenizer, tools: {}, backend: backendName, engine: e.step as unknown as StepModel }, {}));
  for (const b of backends) await b.run(workflow, { batchSize: 2, seed: 1, maxTokens: 340 }); // warm-up
  const timedCpu = async (f: () => unknown) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await f();
    const cu = process.cpuUsage(c0);
    return { wall: (performance.now() - t0) / 1000, cpu: (cu.user + cu.system) / 1e6 };
  };
  /** Batch-64 decode steps after every row's own columns were written to `context`. */
  const longDecode = (step: OnnxStepModel, context: number) => {
    const B = 64;
    const cache = step.createCache(B, context + KV_STEPS);
    cache.reserve(context + KV_STEPS);
    const state = { s: 12345 };
    const rand = () => {
      state.s ^= state.s << 13;
      state.s ^= state.s >>> 17;
      state.s ^= state.s << 5;
      return (state.s >>> 0) / 2 ** 32 - 0.5;
    };
    // Real columns of the right size through the cache's own writer (int8: quantized by it).
    const { kvHeads, headDim } = SMOL_135M;
    const cols = new Float32Array(B * kvHeads * headDim);
    for (let l = 0; l < SMOL_135M.layers; l++) {
      for (let b = 0; b < B; b++) cache.rowLength[b] = 0;
      for (let j = 0; j < context; j++) {
        for (let i = 0; i < cols.length; i++) cols[i] = rand();
        for (let b = 0; b < B; b++) cache.append(l, b, 1, cols, cols, b, 1);
        for (let b = 0; b < B; b++) cache.rowLength[b]!++;
      }
    }
    return timedCpu(() => {
      decodeSteps(step, cache, B, KV_STEPS, { start: context, firstToken: 5 });
    }).finally(() => cache.dispose());
  };
  const seeds: Record<string, { wall: number; cpu: number }[]> = { "f32 KV": [], "int8 KV": [] };
  const longs: Record<string, { wall: number; cpu: number }[]> = {};
  const tokensOf = new Map<string, string>();
  for (let round = 0; round < ROUNDS; round++)
    for (const [i, e] of engines.entries()) {
      let run: Run | null = null;
      const t = await timedCpu(async () => (run = await backends[i]!.run(workflow, { batchSize: 64, seed: 1, maxTokens: FORGE_MAX_TOKENS })));
      seeds[e.name]!.push(t);
      tokensOf.set(e.name, run!.streams.map((x) => x.tokens.join()).join("|"));
      console.error(`  round ${round} ${e.name}: seed run ${t.wall.toFixed(1)} s (${t.cpu.toFixed(1)} CPU s), load ${load()}`);
      for (const context of CONTEXTS) {
        const r = await longDecode(e.step, context);
        (longs[`${e.name} ${context}`] ??= []).push(r);
        console.error(`  round ${round} ${e.name}: ${KV_STEPS} steps at ${context} columns ${r.wall.toFixed(1)} s (${r.cpu.toFixed(1)} CPU s)`);
      }
    }
  const sum = (xs: { wall: number; cpu: number }[]) => xs.reduce((a, x) => ({ wall: a.wall + x.wall, cpu: a.cpu + x.cpu }), { wall: 0, cpu: 0 });
  console.log(`int8 KV cache vs f32, SmolLM2-135M shape, ${weights} weights, batch 64, ${ROUNDS} alternating rounds (sums), load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);
  console.log("| what | f32 KV wall s (CPU s) | int8 KV wall s (CPU s) | int8 ÷ f32 wall | by CPU time |");
  console.log("|---|---:|---:|---:|---:|");
  const line = (label: string, a: { wall: number; cpu: number }, b: { wall: number; cpu: number }) =>
    console.log(`| ${label} | ${a.wall.toFixed(1)} (${a.cpu.toFixed(1)}) | ${b.wall.toFixed(1)} (${b.cpu.toFixed(1)}) | ${(b.wall / a.wall).toFixed(2)} | ${(b.cpu / a.cpu).toFixed(2)} |`);
  const seedF = sum(seeds["f32 KV"]!), seedQ = sum(seeds["int8 KV"]!);
  line(`seed run (prefill, ≤ ${FORGE_MAX_TOKENS} tokens/stream)`, seedF, seedQ);
  for (const context of CONTEXTS) line(`${KV_STEPS} decode steps at ${context} own columns`, sum(longs[`f32 KV ${context}`]!), sum(longs[`int8 KV ${context}`]!));
  console.log(`\nseed run sampled streams identical between the two caches: ${tokensOf.get("f32 KV") === tokensOf.get("int8 KV") ? "all" : "not all"}`);
  console.log(`int8 KV ÷ f32 KV, batch-64 seed run, by CPU time: ${(seedQ.cpu / seedF.cpu).toFixed(2)}×`);
}

// ---- the int8 KV cache's quality: forge-tiny and the 135M shape ---------------------------
if (PART === "kvquality") {
  const STREAMS = Number(process.env.STREAMS ?? 8);
  const cases: Array<{ label: string; model: DecoderModel; tokenizer: ForgeTokenizer; maxTokens: number; streams: number }> = [];
  {
    const folder = "models/forge-tiny";
    const { model } = (await loadModel(folder)) as { model: DecoderModel };
    cases.push({ label: `${folder} (trained, bytes)`, model, tokenizer: await loadTokenizer(folder), maxTokens: 2000, streams: 8 });
  }
  cases.push({ label: "SmolLM2-135M shape (random weights, GPT-2 BPE cut to 49 152)", model: smolModel(), tokenizer: await loadGpt2TokenizerCut(SMOL_135M.vocabSize), maxTokens: 420, streams: STREAMS });
  console.log("| model | streams (tokens) | max |Δlogit| (largest |logit|) | same next token, all positions | generated positions | greedy streams identical |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const c of cases) {
    const f32 = await OnnxStepModel.fromDecoder(c.model, { kvCache: "f32" });
    const int8 = await OnnxStepModel.fromDecoder(c.model, { kvCache: "int8" });
    const backendOf = (step: OnnxStepModel) => new ForgeBackend({ model: c.model, tokenizer: c.tokenizer, tools: {}, backend: backendName, engine: step }, {});
    const workflow = benchWorkflow(64);
    const options = { batchSize: c.streams, seed: 1, greedy: true, maxTokens: c.maxTokens };
    const runF = await backendOf(f32).run(workflow, options);
    const runQ = await backendOf(int8).run(workflow, options);
    const tf = teacherForced([f32, int8], runF, c.model.config.vocabSize);
    const identical = runQ.streams.filter((s, i) => s.tokens.join() === runF.streams[i]!.tokens.join()).length;
    const pct = (a: number, b: number) => `${a}/${b} (${((100 * a) / b).toFixed(2)} %)`;
    console.log(`| ${c.label} | ${c.streams} (≤ ${Math.max(...runF.streams.map((s) => s.tokens.length))}) | ${tf.worst.toFixed(3)} (${tf.largest.toFixed(1)}) | ${pct(tf.allSame, tf.all)} | ${pct(tf.generatedSame, tf.generated)} | ${identical}/${c.streams} |`);
    f32.dispose();
    int8.dispose();
  }
}
