/**
 * The sampler's share of a step (issue 21): the engine's sampler (sampleOnBackend: on the
 * wasm backend the typed-array sampler, reading the logits in the backend's heap) against the
 * sampler of an earlier commit (BEFORE), in one process, alternated.
 *
 *   npx tsx bench/ttfa/sampler.ts     # PAIRS=3 STEPS=100 BATCH=64 ENGINES=tfjs,onnx MODES=t1,top-p BEFORE=d9d7475 TRAINED=1
 *
 * 1. In the loop: the profiled step-by-step wave (profiled-wave.ts: the engine's loop with a
 *    timer per phase) at batch 64 on the benchmark model (setup.ts, vocabulary 8 192), per
 *    engine (tfjs: the wasm backend computes the model; onnx: ONNX Runtime does, its logits
 *    then go to the same sampler as a tfjs tensor) and per sampling mode (t1: temperature 1,
 *    as main.ts samples; top-p: top_p 0.9, as forge-tiny's generation_config), PAIRS pairs of
 *    runs, the two samplers in alternating order. The "sample" phase is ms per step (logits
 *    read, sampling, token upload); its share of the step by CPU time (process.cpuUsage; on
 *    a shared machine a phase's wall time also holds other tenants' time) and by wall time;
 *    beside the mean, the median step's phase (on the ONNX engine a few steps per run carry
 *    the tail of a garbage collection that ONNX Runtime's output copies caused during decode:
 *    onnx-sample-phase.ts). Both samplers must record the same traces.
 * 2. Alone: each sampler on random logits [BATCH, 8 192] (normal, sd 3: nearly flat rows, the
 *    worst case of top-p) per sampling mode, CPU ms per call, alternated.
 * 4. Floor of the temperature-1 path (FLOOR=0 leaves it out): the exact passes alone on the
 *    same random logits, timed from here through kernel.ts's functions (rowrange: max and
 *    minimum; expsumNear: XNNPACK's exp and lane sums, the cheaper exact form; cumscale8: the
 *    cumulative sums eight rows at a time), CPU ms per [BATCH, 8 192] batch, against the whole
 *    sampler and, where the loop ran, each engine's step.
 * 3. Trained (TRAINED=0 leaves it out): the project's own model (models/forge-tiny, vocabulary
 *    257) on the README's seed example at batch BATCH with its generation_config's top_p 0.9:
 *    how many tokens top-p keeps per row, and each sampler alone on the logits the run met.
 *
 * BEFORE's forge/sampler is read from git into a temporary folder (its forge/errors.ts too)
 * and imported from there; BEFORE=none leaves it out (then only the shares are printed).
 * The last line gives the share of the main configuration (tfjs, temperature 1).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import * as forge from "../../forge/index.js";
import { initBackend } from "../../forge/backend/index.js";
import { OnnxStepModel } from "../../forge/backend/onnx/model.js";
import { tfjsStepModel, type StepModel } from "../../forge/model/step-model.js";
import { sampleOnBackend, sampleTokensHost, type SamplingOptions } from "../../forge/sampler/index.js";
import { samplerKernel } from "../../forge/sampler/kernel.js";
import { benchModel, benchWorkflow } from "./setup.js";
import { loadGpt2Tokenizer8k } from "./gpt2-8k.js";
import { profiledWave, type ProfiledWave } from "./profiled-wave.js";

const PAIRS = Number(process.env.PAIRS ?? 3);
const STEPS = Number(process.env.STEPS ?? 100);
const BATCH = Number(process.env.BATCH ?? 64);
const REPS = Number(process.env.REPS ?? 15);
const ENGINES = process.env.ENGINES === "none" ? [] : (process.env.ENGINES ?? "tfjs,onnx").split(","); // none: only the alone and trained parts
const MODE_NAMES = (process.env.MODES ?? "t1,top-p").split(",");
const BEFORE = process.env.BEFORE ?? "d9d7475";
const TRAINED = process.env.TRAINED !== "0";
const FLOOR = process.env.FLOOR !== "0";
const MODES: Record<string, SamplingOptions> = { t1: {}, "t0.7": { temperature: 0.7 }, "top-p": { topP: 0.9 }, "top-k": { topK: 40 }, greedy: { greedy: true } };
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(" / ");
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuNow = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};

/** sampleOnBackend as of `commit`: its forge/sampler (and forge/errors.ts) copied out of git into a temporary folder. */
async function samplerAt(commit: string): Promise<typeof sampleOnBackend> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" });
  const sha = git("rev-parse", "--verify", `${commit}^{commit}`).trim();
  const dir = path.join(os.tmpdir(), `forge-sampler-${sha.slice(0, 12)}`);
  fs.mkdirSync(path.join(dir, "forge", "sampler"), { recursive: true });
  // Its imports (tfjs) resolve to this checkout's packages, so both samplers share one tfjs.
  if (!fs.existsSync(path.join(dir, "node_modules"))) fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
  for (const file of git("ls-tree", "--name-only", `${sha}:forge/sampler`).split("\n").filter((f) => f.endsWith(".ts")))
    fs.writeFileSync(path.join(dir, "forge", "sampler", file), git("show", `${sha}:forge/sampler/${file}`));
  fs.writeFileSync(path.join(dir, "forge", "errors.ts"), git("show", `${sha}:forge/errors.ts`));
  const module = (await import(pathToFileURL(path.join(dir, "forge", "sampler", "dispatch.ts")).href)) as { sampleOnBackend: typeof sampleOnBackend };
  return module.sampleOnBackend;
}

await initBackend("wasm");
const model = benchModel();
const tokenizer = await loadGpt2Tokenizer8k();
const workflow = benchWorkflow(16);
const before = BEFORE === "none" ? null : await samplerAt(BEFORE);
const samplers: [string, typeof sampleOnBackend][] = [["now", sampleOnBackend], ...(before ? [[`before (${BEFORE})`, before] as [string, typeof sampleOnBackend]] : [])];
console.log(
  `Sampler share — ${model.name} (vocab ${model.config.vocabSize}), batch ${BATCH}, ${STEPS} steps per run, ${PAIRS} pairs, ${os.cpus().length} cores, ` +
    `${new Date().toISOString().slice(0, 16)} UTC, load at start ${load()}.`,
);

interface Summary {
  engine: string;
  mode: string;
  sampler: string;
  sampleCpuMs: number;
  /** The sample phase of the median step (CPU): without the few steps a garbage collection's tail lands in (ONNX engine, onnx-sample-phase.ts). */
  medianStepCpuMs: number;
  stepCpuMs: number;
  cpuShare: number;
  wallShare: number;
}
const summaries: Summary[] = [];

for (const engine of ENGINES) {
  const stepModel: StepModel = engine === "onnx" ? await OnnxStepModel.fromDecoder(model) : tfjsStepModel(model);
  for (const modeName of MODE_NAMES) {
    const sampling = MODES[modeName];
    if (sampling === undefined) throw new Error(`MODES: unknown mode ${modeName} (known: ${Object.keys(MODES).join(", ")})`);
    console.log("");
    console.log(`${engine} engine, ${modeName} ${JSON.stringify(sampling)}:`);
    console.log("");
    console.log("| pair | sampler | by CPU time: sample ms / step | median step's | step ms | share | wall: sample ms / step | step ms | share | load | same traces |");
    console.log("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
    const wave = (sampler: typeof sampleOnBackend) =>
      profiledWave(stepModel, tokenizer, workflow, { batchSize: BATCH, seed: 1, maxTokens: STEPS, form: "host", sampling, sampler });
    for (const [, sampler] of samplers) await wave(sampler); // warm-up
    const runs: Record<string, ProfiledWave[]> = Object.fromEntries(samplers.map(([name]) => [name, []]));
    for (let pair = 1; pair <= PAIRS; pair++) {
      const order = pair % 2 ? samplers : [...samplers].reverse();
      const done: [string, ProfiledWave][] = [];
      for (const [name, sampler] of order) done.push([name, await wave(sampler)]);
      const same = done.every(([, p]) => p.traces.every((t, s) => t.tokens.join() === done[0]![1].traces[s]!.tokens.join()));
      for (const [name, p] of done) {
        runs[name]!.push(p);
        console.log(
          `| ${pair} | ${name} | ${fmt(p.phaseCpuMs.sample / (p.steps - 1), 2)} | ${fmt(median(p.sampleSteps.map((x) => x.cpuMs)), 2)} | ${fmt(p.cpuMs / p.steps, 1)} | ${fmt((100 * p.phaseCpuMs.sample) / p.cpuMs, 1)} % | ` +
            `${fmt(p.phaseMs.sample / (p.steps - 1), 2)} | ${fmt(p.ms / p.steps, 1)} | ${fmt((100 * p.phaseMs.sample) / p.ms, 1)} % | ${load()} | ${same ? "yes" : "NO"} |`,
        );
      }
    }
    console.log("");
    for (const [name] of samplers) {
      const ps = runs[name]!;
      const summary: Summary = {
        engine, mode: modeName, sampler: name,
        sampleCpuMs: median(ps.map((p) => p.phaseCpuMs.sample / (p.steps - 1))),
        medianStepCpuMs: median(ps.map((p) => median(p.sampleSteps.map((x) => x.cpuMs)))),
        stepCpuMs: median(ps.map((p) => p.cpuMs / p.steps)),
        cpuShare: median(ps.map((p) => p.phaseCpuMs.sample / p.cpuMs)),
        wallShare: median(ps.map((p) => p.phaseMs.sample / p.ms)),
      };
      summaries.push(summary);
      console.log(
        `Medians, ${name}: ${fmt(summary.sampleCpuMs, 2)} ms of CPU per step (the median step's ${fmt(summary.medianStepCpuMs, 2)}), ${fmt(100 * summary.cpuShare, 1)} % of a step by CPU time (${fmt(100 * summary.wallShare, 1)} % by wall).`,
      );
    }
    if (before) {
      const [now, then] = [summaries.at(-2)!, summaries.at(-1)!];
      console.log(`Sample phase by CPU time, before ÷ now: ${fmt(then.sampleCpuMs / now.sampleCpuMs, 2)}×.`);
    }
  }
}

const aloneRatio: Record<string, number> = {};
console.log("");
console.log(`Alone, random logits [${BATCH}, ${model.config.vocabSize}] (sd 3), CPU ms per call (median of ${REPS} rounds, alternated):`);
console.log("");
console.log(`| sampling | ${samplers.map(([name]) => name).join(" | ")} |${before ? " before ÷ now |" : ""}`);
console.log(`|---|${samplers.map(() => "---:|").join("")}${before ? "---:|" : ""}`);
const logits = tf.randomNormal([BATCH, model.config.vocabSize], 0, 3, "float32", 1) as tf.Tensor2D;
const instances = Int32Array.from({ length: BATCH }, (_, i) => i);
for (const options of Object.values(MODES)) {
  const calls = options.topP !== undefined ? 1 : 10;
  const times: Record<string, number[]> = Object.fromEntries(samplers.map(([name]) => [name, []]));
  for (let r = 0; r < REPS + 2; r++) {
    for (const [name, sampler] of r % 2 ? samplers : [...samplers].reverse()) {
      const t0 = cpuNow();
      for (let c = 0; c < calls; c++) {
        const tokens = sampler(logits, options, 1, instances, Int32Array.from(instances, (i) => i + c));
        tokens.dataSync();
        tokens.dispose();
      }
      if (r >= 2) times[name]!.push((cpuNow() - t0) / calls);
    }
  }
  const ms = samplers.map(([name]) => median(times[name]!));
  if (before && (options.topK !== undefined || options.topP !== undefined)) aloneRatio[JSON.stringify(options)] = ms[1]! / ms[0]!;
  console.log(`| ${JSON.stringify(options)} | ${ms.map((x) => fmt(x, 2)).join(" | ")} |${before ? ` ${fmt(ms[1]! / ms[0]!, 2)}× |` : ""}`);
}
let floorLine = "";
if (FLOOR) {
  // The temperature-1 path's exact passes alone, in the SIMD module's own memory: the rows at
  // 0, the exp values after them, the eight-row cumulative checkpoints after those.
  const k = samplerKernel();
  if (k === null) console.log("\nFloor: no WebAssembly SIMD here, left out.");
  else {
    const V = model.config.vocabSize;
    const x = logits.dataSync() as Float32Array;
    const rowsBytes = 4 * BATCH * V;
    const bytes = 2 * rowsBytes + 4 * 8 * V + 64;
    if (k.memory.buffer.byteLength < bytes) k.memory.grow(Math.ceil((bytes - k.memory.buffer.byteLength) / 65536));
    new Float32Array(k.memory.buffer).set(x, 0);
    const low = 2 * rowsBytes + 4 * 8 * V;
    const exps = rowsBytes;
    const maxima = new Float64Array(BATCH);
    const passes: Record<string, () => void> = {
      "max (rowrange)": () => {
        for (let b = 0; b < BATCH; b++) maxima[b] = k.rowrange(4 * b * V, V, low);
      },
      "exp + lane sums (expsumNear)": () => {
        for (let b = 0; b < BATCH; b++) k.expsumNear(4 * b * V, exps + 4 * b * V, V & ~3, maxima[b]!);
      },
      "cumulative sums (cumscale8, 8 rows a call)": () => {
        for (let b = 0; b + 8 <= BATCH; b += 8) k.cumscale8(exps + 4 * b * V, 4 * V, 2 * rowsBytes, 16 * V, V & ~3, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4);
      },
      "whole sampler (sampleTokensHost, rows copied)": () => {
        sampleTokensHost(x, V, {}, 1, instances, instances);
      },
    };
    passes["max (rowrange)"]!(); // the maxima the exp pass needs
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(passes).map((name) => [name, []]));
    for (let r = 0; r < REPS + 2; r++)
      for (const [name, pass] of Object.entries(passes)) {
        const t0 = cpuNow();
        for (let c = 0; c < 10; c++) pass();
        if (r >= 2) times[name]!.push((cpuNow() - t0) / 10);
      }
    const ms = Object.fromEntries(Object.entries(times).map(([name, t]) => [name, median(t)]));
    const exp = ms["exp + lane sums (expsumNear)"]!;
    const floorMs = exp + ms["max (rowrange)"]!;
    const steps = summaries.filter((s) => s.sampler === "now" && s.mode === "t1");
    console.log("");
    console.log(`Floor of the temperature-1 path, [${BATCH}, ${V}], CPU ms per batch (median of ${REPS} rounds of 10):`);
    console.log("");
    console.log("| pass | CPU ms |" + steps.map((s) => ` share of a ${s.engine} step (${fmt(s.stepCpuMs, 1)} ms) |`).join(""));
    console.log("|---|---:|" + steps.map(() => "---:|").join(""));
    for (const [name, t] of Object.entries(ms)) console.log(`| ${name} | ${fmt(t, 3)} |` + steps.map((s) => ` ${fmt((100 * t) / s.stepCpuMs, 2)} % |`).join(""));
    console.log(`| max + exp: the floor of exact draws | ${fmt(floorMs, 3)} |` + steps.map((s) => ` ${fmt((100 * floorMs) / s.stepCpuMs, 2)} % |`).join(""));
    floorLine = `t1 floor (max + exp) ${fmt(floorMs, 3)} ms` + steps.map((s) => `, ${fmt((100 * floorMs) / s.stepCpuMs, 1)} % of a ${s.engine} step`).join("");
  }
}

logits.dispose();

let trainedLine = "";
if (TRAINED) {
  // The project's model on the seed example (as tail.ts runs it), top_p 0.9 as its generation_config.
  const backend = await forge.makeBackend(undefined, undefined, { engine: "tfjs" });
  const { sequences, config } = await forge.parseUdplFile("notebooks/seed-example.toml");
  const program = forge.newProgram(sequences, {}, config);
  program.run("setup");
  program.loop("control", (loop) => loop.run("reasoning", { question: "Are you alive?" }), { min: 1, max: 6 });
  program.run("conclusion");
  const seedWorkflow = program.compile()();
  const V = backend.model.config.vocabSize;
  const topP = { topP: 0.9 };
  const kept: number[] = [];
  const batches: Float32Array[] = [];
  // The engine's sampler, after counting each row's kept tokens (f64 softmax in TopK order: the
  // prefix whose mass before each token is < 0.9) and keeping some batches to time alone.
  const recording: typeof sampleOnBackend = (logits, options, seed, instances, steps) => {
    const x = logits.dataSync() as Float32Array;
    if (batches.length < 40) batches.push(Float32Array.from(x));
    for (let b = 0; b < x.length / V; b++) {
      const row = Array.from(x.subarray(b * V, (b + 1) * V)).sort((p, q) => q - p);
      const exp = row.map((v) => Math.exp(v - row[0]!));
      const total = exp.reduce((p, q) => p + q, 0);
      let before = 0;
      let count = 0;
      while (count < V && before < 0.9 * total) before += exp[count++]!;
      kept.push(count);
    }
    return sampleOnBackend(logits, options, seed, instances, steps);
  };
  const wave = await profiledWave(backend.model, backend.tokenizer, seedWorkflow, { batchSize: BATCH, seed: 0, maxTokens: STEPS, form: "host", sampling: topP, sampler: recording });
  kept.sort((p, q) => p - q);
  const q = (f: number) => kept[Math.min(kept.length - 1, Math.floor(f * kept.length))]!;
  console.log("");
  console.log(
    `Trained: ${backend.model.name} (vocabulary ${V}) on the seed example, batch ${BATCH}, ${wave.steps} steps, top_p 0.9: tokens kept per row ` +
      `median ${q(0.5)}, p10 ${q(0.1)}, p90 ${q(0.9)}, max ${kept.at(-1)} (of ${V}; ${kept.length} rows).`,
  );
  const instancesT = Int32Array.from({ length: BATCH }, (_, i) => i);
  const times: Record<string, number[]> = Object.fromEntries(samplers.map(([name]) => [name, []]));
  const tensors = batches.map((x) => tf.tensor2d(x, [x.length / V, V]));
  for (let r = 0; r < REPS + 2; r++) {
    for (const [name, sampler] of r % 2 ? samplers : [...samplers].reverse()) {
      const t0 = cpuNow();
      for (const t of tensors) {
        const tokens = sampler(t, topP, 1, instancesT.subarray(0, t.shape[0]), Int32Array.from({ length: t.shape[0] }, (_, i) => i + r));
        tokens.dataSync();
        tokens.dispose();
      }
      if (r >= 2) times[name]!.push((cpuNow() - t0) / tensors.length);
    }
  }
  for (const t of tensors) t.dispose();
  const ms = samplers.map(([name]) => median(times[name]!));
  console.log(
    `Alone on its logits (${tensors.length} batches, CPU ms per call, median of ${REPS}): ` +
      samplers.map(([name], i) => `${name} ${fmt(ms[i]!, 3)}`).join(", ") + (before ? ` (before ÷ now ${fmt(ms[1]! / ms[0]!, 2)}×)` : "") + ".",
  );
  trainedLine = `trained top-p 0.9 keeps ${q(0.5)} tokens per row (median), alone ${before ? `${fmt(ms[1]! / ms[0]!, 1)}× faster than before` : `${fmt(ms[0]!, 3)} ms`}`;
}

console.log(`\nload at end ${load()}.`);
const main = summaries.find((s) => s.engine === ENGINES[0] && s.mode === MODE_NAMES[0] && s.sampler === "now");
const filteredAlone = Object.entries(aloneRatio).map(([mode, r]) => `${mode} ${fmt(r, 2)}×`).join(", ");
const parts = [
  ...(main ? [`Sampler share of a batch-${BATCH} step by CPU time (${main.engine}, ${main.mode}): ${fmt(100 * main.cpuShare, 1)} % (${fmt(main.sampleCpuMs, 2)} of ${fmt(main.stepCpuMs, 1)} ms; median step ${fmt(main.medianStepCpuMs, 2)} ms)`] : []),
  ...summaries.filter((s) => s.sampler === "now" && s !== main).map((s) => `${s.engine} ${s.mode} ${fmt(100 * s.cpuShare, 1)} % (median step ${fmt(s.medianStepCpuMs, 2)} ms)`),
  ...(filteredAlone ? [`alone, before ÷ now: ${filteredAlone}`] : []),
  ...(trainedLine ? [trainedLine] : []),
  ...(floorLine ? [floorLine] : []),
];
console.log(`Sampler, batch ${BATCH}: ${parts.join("; ")}.`);
