/**
 * Throughput features on and off (issue 10): shared-prefix prefill, multi-token forced
 * feeding and continuous batching, against the one-token-per-step Forge run, on the
 * benchmark model of docs/engine.md#backend-facts and the seed example (setup.ts) — the same model, tokenizer and workflow
 * for every row, in one process.
 *
 *   npx tsx bench/ttfa/features.ts                    # batches 64 and 256
 *   BATCHES=64 WAVES=2 npx tsx bench/ttfa/features.ts # continuous-batching rows: 2 × batch instances
 *   FEED_BATCHES=64 FEED_CHUNK=16 …                   # multi-token feeding rows (default: batches 64 and 256)
 *   SAMPLED=1 …                                       # temperature 1 instead of greedy decoding
 *   ENGINE=onnx …                                     # the ONNX Runtime engine (forge/backend/onnx) instead of tfjs
 *
 * Definitions.
 * - tokens/s: tokens that enter the streams' traces (forced + generated: the useful output
 *   of a Forge run) per second of wall time of the whole backend.run call; gen tok/s counts
 *   only the sampled tokens. speed-up: wall time of the row's baseline ÷ the row's.
 * - CPU s: the process's CPU time over the row (process.cpuUsage, all threads). On a shared
 *   machine the wall time of one run swings with the other tenants' load while its CPU time
 *   barely does, so "speed-up by CPU time" (baseline CPU s ÷ the row's) is the steadier ratio.
 * - forward tokens: rows the model computed (RunMetadata.forwardTokens): each decode step
 *   counts every slot, the shared prefix its tokens once.
 * - peak tensors: the largest tf.memory().numBytes seen during the row (KV cache, weights
 *   and temporaries; sampled every 20 ms). Peak RSS: the process's, which never shrinks
 *   (the wasm heap only grows), so it is a running maximum over the rows before.
 * - identical: streams whose trace equals the baseline's. Greedy decoding by default: the
 *   features promise the one-token-per-step run's greedy traces. (Sampled at temperature 1, a
 *   near-uniform random 8k-vocabulary model flips a draw on any 1e-6 logit change, and the
 *   features round differently: prefill's attention over the prefix is one product per head,
 *   feeding's forward is a multi-token pass.) The workload is the same either way: the random
 *   model never spells a zone token, so every stream runs every zone to its cap.
 */
import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../forge/backend/index.js";
import { makeBackend } from "../../forge/session/backend.js";
import type { Run } from "../../forge/run/types.js";
import type { RequestOptions } from "../../forge/engine/types.js";
import type { EnginePreference } from "../../forge/backend/engine.js";
import { benchModel, benchWorkflow } from "./setup.js";
import { loadGpt2Tokenizer8k } from "./gpt2-8k.js";

const MAX_GEN = Number(process.env.MAX_GEN ?? 16);
const SEED = 1;
const BATCHES = (process.env.BATCHES ?? "64,256").split(",").map(Number);
/** Continuous-batching rows run WAVES × batch instances (0: no such rows). */
const WAVES = Number(process.env.WAVES ?? 0);
const CB_BATCHES = (process.env.CB_BATCHES ?? "64").split(",").map(Number);
/** Multi-token forced feeding rows (off by default in the engine: see RequestOptions.feedChunk). */
const FEED_BATCHES = (process.env.FEED_BATCHES ?? "64,256").split(",").map(Number);
const FEED_CHUNK = Number(process.env.FEED_CHUNK ?? 16);
const GREEDY = process.env.SAMPLED !== "1";
/** Which engine computes the model: "tfjs" (default here) or "onnx" (the default for model folders). */
const ENGINE = (process.env.ENGINE ?? "tfjs") as EnginePreference;
/**
 * FEATURES_ONLY=1: leave out the one-token-per-step rows (speed-ups then read against the
 * first feature row; compare CPU s with a baseline run in another process). On a loaded
 * machine the rows of one batch can so run in two processes side by side.
 */
const FEATURES_ONLY = process.env.FEATURES_ONLY === "1";

const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(" / ");

await initBackend("wasm");
const model = benchModel();
const tokenizer = await loadGpt2Tokenizer8k();
const workflow = benchWorkflow(MAX_GEN);
const backend = await makeBackend(model, tokenizer, { engine: ENGINE });
const loadAtStart = load();

interface Row {
  label: string;
  batch: number;
  instances: number;
  ms: number;
  /** CPU time of the process during the row (all threads), ms. */
  cpuMs: number;
  tokens: number;
  generated: number;
  steps: number;
  forwardTokens: number;
  prefix: number;
  peakTensorBytes: number;
  peakRss: number;
  run: Run;
}

async function measure(label: string, batch: number, instances: number, features: Pick<RequestOptions, "prefill" | "continuousBatching" | "feedChunk">): Promise<Row> {
  let peakTensorBytes = 0;
  let peakRss = 0;
  const sample = () => {
    peakTensorBytes = Math.max(peakTensorBytes, tf.memory().numBytes);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 20);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const run = await backend.run(workflow, { batchSize: batch, instances, seed: SEED, greedy: GREEDY, ...features });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  clearInterval(timer);
  sample();
  let tokens = 0;
  let generated = 0;
  for (const s of run.streams) {
    tokens += s.tokens.length;
    for (const f of s.forced) if (!f) generated++;
  }
  const row: Row = {
    label, batch, instances, ms, cpuMs, tokens, generated, steps: run.meta.steps, forwardTokens: run.meta.forwardTokens ?? 0,
    prefix: run.meta.sharedPrefixTokens ?? 0, peakTensorBytes, peakRss, run,
  };
  console.error(`${label} batch ${batch} × ${instances}: ${fmt(ms / 1000, 1)} s, load ${load()}`);
  return row;
}

/** Streams of `a` whose trace equals the same instance's in `b`, as "n/N". */
const identical = (a: Run, b: Run) =>
  `${a.streams.filter((s, i) => s.instance === b.streams[i]?.instance && s.status === b.streams[i]!.status && s.tokens.join() === b.streams[i]!.tokens.join()).length}/${a.streams.length}`;

// Warm-up: wasm kernels, tables, and the multi-token pass's (400 tokens: past the shared prefix).
await backend.run(workflow, { batchSize: 2, seed: SEED, maxTokens: 8 });
await backend.run(workflow, { batchSize: 2, seed: SEED, maxTokens: 400, feedChunk: FEED_CHUNK });

console.log(`Throughput features — engine ${backend.engine} (tfjs backend wasm), model ${model.name} (GPT-2 family, 4 layers, width 256, vocab 8 192), tokenizer ${tokenizer.identity},`);
console.log(`workflow: seed example with its setup block, zone cap ${MAX_GEN}, loop 1–3; ${GREEDY ? "greedy decoding" : "sampled at temperature 1"}; ${os.cpus().length} cores; load average at start ${loadAtStart}.`);
console.log("");
console.log("| feature | batch | instances | wall s | tok/s | gen tok/s | speed-up | CPU s | speed-up by CPU time | steps | forward tokens | shared prefix | peak tensors MB | peak RSS MB | identical |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
/** Rows print as they finish (a long run can be read while it goes). */
function print(r: Row, base: Row): void {
  console.log(
    `| ${r.label} | ${r.batch} | ${r.instances} | ${fmt(r.ms / 1000, 1)} | ${fmt((r.tokens * 1000) / r.ms)} | ${fmt((r.generated * 1000) / r.ms)} | ` +
      `${fmt(base.ms / r.ms, 2)}× | ${fmt(r.cpuMs / 1000, 1)} | ${fmt(base.cpuMs / r.cpuMs, 2)}× | ${fmt(r.steps)} | ${fmt(r.forwardTokens)} | ${r.prefix} | ${fmt(r.peakTensorBytes / 2 ** 20)} | ${fmt(r.peakRss / 2 ** 20)} | ${r === base ? "—" : identical(r.run, base.run)} |`,
  );
}

for (const batch of BATCHES) {
  const prefill = () => measure("shared-prefix prefill", batch, batch, { prefill: true, continuousBatching: false });
  const base = FEATURES_ONLY ? await prefill() : await measure("one token per step", batch, batch, { prefill: false, continuousBatching: false });
  print(base, base);
  if (!FEATURES_ONLY) print(await prefill(), base);
  if (FEED_BATCHES.includes(batch)) print(await measure(`prefill + feeding k=${FEED_CHUNK}`, batch, batch, { prefill: true, continuousBatching: false, feedChunk: FEED_CHUNK }), base);
  if (WAVES > 1 && CB_BATCHES.includes(batch)) {
    const n = WAVES * batch;
    const waves = await measure("waves, one token per step", batch, n, { prefill: false, continuousBatching: false });
    print(waves, waves);
    print(await measure("continuous batching", batch, n, { prefill: false, continuousBatching: true }), waves);
    print(await measure("prefill + continuous batching", batch, n, { prefill: true, continuousBatching: true }), waves);
  }
}
console.log(`\nload average at end ${load()}.`);
