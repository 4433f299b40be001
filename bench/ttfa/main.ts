/**
 * TTFA speed benchmark (issue 4): one process, wasm backend, one model and workflow for
 * every row (setup.ts: GPT-2-shaped 4 layers × width 256, vocabulary 8 192, random weights;
 * the seed example workflow). Prints markdown tables.
 *
 *   npx tsx bench/ttfa/main.ts                       # all rows
 *   BATCHES=1,64 FULL_BATCHES=64 PAIRS=2 npx tsx bench/ttfa/main.ts   # shorter
 *
 * Definitions.
 * - tokens/s: tokens emitted across the batch (forced + generated: every token that enters a
 *   stream's trace and the model's context) per second of wall time of the whole call (a
 *   Forge run: backend.run, compile and run derivation included). "gen tok/s": generated
 *   (sampled) tokens only, over the same wall time.
 * - raw loop (raw-loop.ts): model.decode → the engine's sampler → one read-back per step, no
 *   automaton; same model, sampler, batch and KV cache. Each of its tokens counts as emitted.
 * - Overhead ratio = step-by-step Forge tok/s ÷ raw tok/s: Forge with prefill off and one
 *   token per forward (the same model work per step as the raw loop), capped at the same
 *   step count, alternated with the raw loop PAIRS times; the median of the per-pair ratios
 *   (the machine is shared: alternation cancels load drift).
 * - Full workflow: Forge with the engine's defaults (shared-prefix prefill), and with chunked
 *   forced feeding (feedChunk), against the host-orchestrated baseline (host-orchestrated.ts:
 *   each generating zone one generate() call re-encoding the whole context, the plan read off
 *   the Forge run); speed-up = the baseline's wall time ÷ the Forge run's (same tokens).
 * - CPU time (process.cpuUsage, all threads) is recorded beside each wall time: on a shared
 *   machine one run's wall time swings with the other tenants' load, its CPU time barely does,
 *   so the ratios by CPU time are the steadier ones.
 */
import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../forge/backend/index.js";
import { makeBackend } from "../../forge/session/backend.js";
import type { Run } from "../../forge/run/types.js";
import type { RequestOptions } from "../../forge/engine/types.js";
import { benchModel, benchWorkflow } from "./setup.js";
import { loadGpt2Tokenizer8k } from "./gpt2-8k.js";
import { rawSamplingLoop } from "./raw-loop.js";
import { profiledWave, PHASES, type AutomatonForm, type ProfiledWave } from "./profiled-wave.js";
import { hostOrchestratedRun, planFromRun } from "./host-orchestrated.js";

const MAX_GEN = Number(process.env.MAX_GEN ?? 16);
const SEED = 1;
const CONTEXT = 1024;
const BATCHES = (process.env.BATCHES ?? "1,64,256").split(",").map(Number);
/** Steps per run in the raw-vs-Forge pairs, per batch (short, alternated: load drift cancels). */
const PAIR_STEPS: Record<number, number> = { 1: Number(process.env.PAIR_STEPS_1 ?? 300), 64: Number(process.env.PAIR_STEPS_64 ?? 120), 256: Number(process.env.PAIR_STEPS_256 ?? 30) };
const PAIRS = Number(process.env.PAIRS ?? 3);
/** Batches that also run the full workflow: Forge (engine defaults, and with chunked feeding) and the host-orchestrated baseline. */
const FULL_BATCHES = (process.env.FULL_BATCHES ?? "1,64").split(",").map(Number);
const FEED_CHUNK = Number(process.env.FEED_CHUNK ?? 16);
const PROFILE_STEPS: Record<number, number> = { 1: 100, 64: 100, 256: 40 };

const load = () => os.loadavg().map((x) => x.toFixed(1)).join(" / ");
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** CPU milliseconds of the process since `start` (a process.cpuUsage() reading), all threads. */
const cpuSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

await initBackend("wasm");
const benchStart = performance.now();
const loadAtStart = load();
const model = benchModel();
const tokenizer = await loadGpt2Tokenizer8k();
const workflow = benchWorkflow(MAX_GEN);
const backend = await makeBackend(model, tokenizer);

function runTokens(run: Run): { tokens: number; generated: number } {
  let tokens = 0;
  let generated = 0;
  for (const s of run.streams) {
    tokens += s.tokens.length;
    for (const f of s.forced) if (!f) generated++;
  }
  return { tokens, generated };
}

// Warm-up: first calls compile wasm kernels and build tables.
await rawSamplingLoop(model, 2, 3, { capacity: 8 });
await backend.run(workflow, { batchSize: 2, seed: SEED, maxTokens: 8, prefill: false });
await backend.run(workflow, { batchSize: 2, seed: SEED, maxTokens: 400, feedChunk: FEED_CHUNK });

interface ForgeRow {
  ms: number;
  cpuMs: number;
  tps: number;
  gtps: number;
  tokens: number;
  generated: number;
  steps: number;
  /** Token rows the model computed (RunMetadata.forwardTokens). */
  forwardTokens: number;
}
interface Row {
  batch: number;
  pairSteps: number;
  /** Medians over the alternated pairs: raw tok/s, Forge step-by-step tok/s, and the per-pair ratio. */
  pairs: { raw: number; forge: number; ratio: number; ratios: number[]; cpuRatio: number };
  profile: Record<AutomatonForm | "yieldEachStep", ProfiledWave>;
  full?: {
    defaults: ForgeRow;
    chunked: ForgeRow;
    host: { ms: number; cpuMs: number; calls: number; reencoded: number; prefillMs: number; decodeMs: number; onPlan: string };
  };
}
const rows: Row[] = [];

async function forgeRun(batch: number, options: RequestOptions): Promise<{ row: ForgeRow; run: Run }> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const run = await backend.run(workflow, { batchSize: batch, seed: SEED, ...options });
  const ms = performance.now() - t0;
  const cpuMs = cpuSince(cpu0);
  const { tokens, generated } = runTokens(run);
  return { run, row: { ms, cpuMs, tps: (tokens * 1000) / ms, gtps: (generated * 1000) / ms, tokens, generated, steps: run.meta.steps, forwardTokens: run.meta.forwardTokens ?? NaN } };
}

for (const batch of BATCHES) {
  // 1. Overhead: the raw loop and a step-by-step Forge run (no shared prefix, one token per
  //    forward: the same model work per step as the raw loop), alternated PAIRS times.
  const pairSteps = PAIR_STEPS[batch] ?? 60;
  const raws: number[] = [];
  const forges: number[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const cpu0 = process.cpuUsage();
    const raw = await rawSamplingLoop(model, batch, pairSteps, { seed: SEED, capacity: pairSteps });
    const rawCpuMs = cpuSince(cpu0);
    const forge = await forgeRun(batch, { maxTokens: pairSteps, prefill: false, feedChunk: 1 });
    raws.push(raw.tokensPerSecond);
    forges.push(forge.row.tps);
    ratios.push(forge.row.tps / raw.tokensPerSecond);
    cpuRatios.push(rawCpuMs / forge.row.cpuMs); // same tokens: CPU time raw ÷ Forge
  }
  // 2. Where the step-by-step loop's time goes (profiled copy).
  const profileOptions = { batchSize: batch, seed: SEED, maxTokens: PROFILE_STEPS[batch] ?? 60 };
  const profile = {
    host: await profiledWave(model, tokenizer, workflow, { ...profileOptions, form: "host" }),
    tensor: await profiledWave(model, tokenizer, workflow, { ...profileOptions, form: "tensor" }),
    // The engine's loop before: a turn of the event loop after every step.
    yieldEachStep: await profiledWave(model, tokenizer, workflow, { ...profileOptions, form: "host", yieldIntervalMs: 0 }),
  };
  const row: Row = { batch, pairSteps, pairs: { raw: median(raws), forge: median(forges), ratio: median(ratios), ratios, cpuRatio: median(cpuRatios) }, profile };
  // 3. The full workflow: Forge with the engine's defaults (shared-prefix prefill), with
  //    chunked forced feeding too, and the host-orchestrated baseline on the same plan.
  if (FULL_BATCHES.includes(batch)) {
    const defaults = await forgeRun(batch, { maxTokens: CONTEXT });
    const chunked = await forgeRun(batch, { maxTokens: CONTEXT, feedChunk: FEED_CHUNK });
    const plan = planFromRun(defaults.run);
    const hostCpu0 = process.cpuUsage();
    const host = await hostOrchestratedRun(model, plan, batch, { seed: SEED });
    const hostCpuMs = cpuSince(hostCpu0);
    row.full = {
      defaults: defaults.row,
      chunked: chunked.row,
      host: { ms: host.ms, cpuMs: hostCpuMs, calls: host.calls, reencoded: host.reencoded, prefillMs: host.prefillMs, decodeMs: host.decodeMs, onPlan: `${plan.streamsOnPlan}/${plan.streams}` },
    };
  }
  rows.push(row);
  console.error(`batch ${batch} done at ${fmt((performance.now() - benchStart) / 1000, 1)} s, load ${load()}, live tensors ${tf.memory().numTensors}`);
}

const out: string[] = [];
out.push(`TTFA speed benchmark — wasm backend, model ${model.name} (GPT-2 family, 4 layers, width 256, vocab 8 192), tokenizer ${tokenizer.identity},`);
out.push(`workflow: seed example, zone cap ${MAX_GEN}, loop 1–3; ${os.cpus().length} cores; load average at start ${loadAtStart}, at end ${load()} (1 / 5 / 15 min).`);
out.push("");
out.push(`Overhead: raw loop vs step-by-step Forge run (prefill off, one token per forward, host automaton), ${PAIRS} alternated pairs, medians:`);
out.push("");
out.push("| batch | steps per run | raw tok/s | Forge tok/s | Forge / raw (median) | per-pair ratios | by CPU time (median) |");
out.push("|---:|---:|---:|---:|---:|---|---:|");
for (const r of rows) {
  out.push(`| ${r.batch} | ${r.pairSteps} | ${fmt(r.pairs.raw)} | ${fmt(r.pairs.forge)} | ${fmt(r.pairs.ratio, 3)} | ${r.pairs.ratios.map((x) => fmt(x, 3)).join(", ")} | ${fmt(r.pairs.cpuRatio, 3)} |`);
}
out.push("");
out.push("Where a step-by-step Forge step's time goes (profiled copy of the loop; µs per step):");
out.push("");
out.push(`| batch | automaton | steps | ${PHASES.join(" | ")} | total | profiled tok/s |`);
out.push(`|---:|---|---:|${PHASES.map(() => "---:").join("|")}|---:|---:|`);
for (const r of rows) {
  for (const p of [r.profile.host, r.profile.tensor, r.profile.yieldEachStep]) {
    const perStep = (ms: number) => fmt((ms * 1000) / p.steps);
    const label = p === r.profile.yieldEachStep ? `${p.form}, yield every step` : p.form;
    out.push(`| ${r.batch} | ${label} | ${p.steps} | ${PHASES.map((ph) => perStep(p.phaseMs[ph])).join(" | ")} | ${perStep(p.ms)} | ${fmt((p.tokens * 1000) / p.ms)} |`);
  }
}
const full = rows.filter((r) => r.full);
if (full.length > 0) {
  out.push("");
  out.push(`Full workflow: Forge (engine defaults: shared-prefix prefill), Forge + feedChunk ${FEED_CHUNK}, host-orchestrated baseline (same plan, same tokens):`);
  out.push("");
  out.push("| batch | tokens (gen) | Forge s | tok/s | gen tok/s | forward rows | Forge+chunk s | tok/s | forward rows | host-orch. s (prefill / decode) | calls | re-encoded per stream | host-orch. tok/s | speed-up: Forge | speed-up: Forge+chunk | by CPU time: Forge | Forge+chunk |");
  out.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of full) {
    const { defaults: d, chunked: c, host: h } = r.full!;
    out.push(
      `| ${r.batch} | ${d.tokens} (${d.generated}) | ${fmt(d.ms / 1000, 1)} | ${fmt(d.tps)} | ${fmt(d.gtps)} | ${d.forwardTokens} | ${fmt(c.ms / 1000, 1)} | ${fmt(c.tps)} | ${c.forwardTokens} | ` +
        `${fmt(h.ms / 1000, 1)} (${fmt(h.prefillMs / 1000, 1)} / ${fmt(h.decodeMs / 1000, 1)}) | ${h.calls} | ${h.reencoded} | ${fmt((d.tokens * 1000) / h.ms)} | ${fmt(h.ms / d.ms, 2)}× | ${fmt(h.ms / c.ms, 2)}× | ${fmt(h.cpuMs / d.cpuMs, 2)}× | ${fmt(h.cpuMs / c.cpuMs, 2)}× |`,
    );
  }
  out.push("");
  out.push(`Streams on the host plan: ${full.map((r) => `batch ${r.batch}: ${r.full!.host.onPlan}`).join(", ")}.`);
}
out.push("");
out.push(`Whole benchmark: ${fmt((performance.now() - benchStart) / 1000, 0)} s.`);
console.log(out.join("\n"));
