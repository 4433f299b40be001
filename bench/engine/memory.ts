/**
 * Peak memory of the ONNX engine at a batch × length (issue 17's goal: batch 256 × 2 048 tokens
 * of the SmolLM2-135M shape in 8 GiB), one configuration per process:
 *
 *   BATCH=256 LENGTH=2048 WEIGHTS=int8 KV=int8 npx tsx --expose-gc bench/engine/memory.ts
 *
 * ONNX Runtime's memory arena is off here (ARENA=1 turns it on, the engine's default): at this
 * size the arena keeps the step's transients (each layer's cast of the batch's columns) held.
 *
 * Builds the 135M-shape model's host weights directly as Float32Arrays (random, uniform with
 * std 0.02, norm gains 1, the head the embedding's transpose as tied weights are) — no tfjs
 * model, so no wasm heap high-water mark from it — and its ONNX session; drops the host copies.
 * Then a cache whose every row holds LENGTH − STEPS own columns, written directly through the
 * cache's arrays (int8 codes and scales, or f32 values: a real 524 288-token prefill would take
 * ~20+ min here, and what a step reads is the same), and STEPS real decode steps for every
 * row at the last positions, so attention reads all LENGTH columns of every row.
 * Prints the peak resident set (VmHWM) at each stage; the last line is the final peak.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { initBackend } from "../../forge/backend/index.js";
import { OnnxStepModel } from "../../forge/backend/onnx/model.js";
import type { HostLayer, HostWeights } from "../../forge/backend/onnx/graph.js";
import type { DecoderConfig } from "../../forge/model/index.js";
import { SMOL_135M } from "./shape.js";

const BATCH = Number(process.env.BATCH ?? 256);
const LENGTH = Number(process.env.LENGTH ?? 2048);
const STEPS = Number(process.env.STEPS ?? 2);
const WEIGHTS = (process.env.WEIGHTS ?? "int8") as "f32" | "int8";
const KV = (process.env.KV ?? "int8") as "f32" | "int8";
const ARENA = (process.env.ARENA ?? "0") !== "0"; // off: the arena would hold the step's transients (OnnxOptions.arena)
const GiB = 2 ** 30;

function peakGiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? (Number(m[1]) * 1024) / GiB : NaN;
}
function rssGiB(): number {
  return process.memoryUsage().rss / GiB;
}

/** xorshift32 uniform in [−a, a): the bench needs values of the right size, not tfjs's normal draws. */
function uniform(n: number, a: number, state: { s: number }): Float32Array {
  const out = new Float32Array(n);
  let s = state.s;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32 * 2 - 1) * a;
  }
  state.s = s;
  return out;
}

/** Random host weights of a Llama-family config in the tfjs decoder's layout (graph.ts HostWeights). */
function randomHostWeights(c: DecoderConfig, seed: number): HostWeights {
  const state = { s: seed >>> 0 || 1 };
  const a = 0.02 * Math.sqrt(3); // uniform with std 0.02
  const { hiddenSize: H, heads, kvHeads, headDim: D, intermediateSize: I, vocabSize: V } = c;
  const gain = () => ({ gain: new Float32Array(H).fill(1), bias: null });
  const lin = (inDim: number, outDim: number) => ({ w: uniform(inDim * outDim, a, state), b: null });
  const layers: HostLayer[] = Array.from({ length: c.layers }, () => ({
    attnNorm: gain(),
    qkv: lin(H, (heads + 2 * kvHeads) * D),
    attnOut: lin(heads * D, H),
    mlpNorm: gain(),
    mlpIn: lin(H, 2 * I), // gate | up
    mlpOut: lin(I, H),
  }));
  const tokenEmbedding = uniform(V * H, a, state);
  const head = new Float32Array(H * V);
  for (let v = 0; v < V; v++) for (let h = 0; h < H; h++) head[h * V + v] = tokenEmbedding[v * H + h]!;
  return { tokenEmbedding, positionEmbedding: null, layers, finalNorm: gain(), head };
}

await initBackend("wasm"); // decode hands the logits back as a tfjs tensor
const { layers, kvHeads, headDim } = SMOL_135M;
const perToken = layers * 2 * kvHeads * headDim * (KV === "int8" ? 1 : 4) + (KV === "int8" ? layers * 2 * kvHeads * 4 : 0);
const kvBytes = BATCH * LENGTH * perToken;
const t0 = performance.now();
let weights: HostWeights | null = randomHostWeights(SMOL_135M, 1);
const afterHost = peakGiB();
const step = await OnnxStepModel.fromHostWeights(SMOL_135M, weights, "random-smollm2-135m-shape", { weights: WEIGHTS, kvCache: KV, arena: ARENA });
weights = null;
global.gc?.();
const buildSeconds = (performance.now() - t0) / 1000;
const afterSession = peakGiB();
const settled = rssGiB();

const cache = step.createCache(BATCH, LENGTH);
cache.reserve(LENGTH);
const filled = LENGTH - STEPS;
cache.rowLength.fill(filled);
// Write every column, as a run does (untouched pages of a fresh allocation are not resident):
// int8 codes spread over −127..127 with a scale of 0.02/127 (values of the size RoPE'd keys of
// this random model have), or f32 values of that size.
const PERIOD = 255 * 256; // the pattern's period is 255: one block of it, copied along
for (let l = 0; l < layers; l++)
  for (const a of [cache.ownKeys[l]!, cache.ownValues[l]!]) {
    const block = a instanceof Int8Array ? new Int8Array(PERIOD) : new Float32Array(PERIOD);
    for (let i = 0; i < PERIOD; i++) block[i] = a instanceof Int8Array ? ((i * 37 + l * 11) % 255) - 127 : (((i * 37 + l * 11) % 255) - 127) * (0.02 / 127);
    for (let at = 0; at < a.length; at += PERIOD) a.set(block.subarray(0, Math.min(PERIOD, a.length - at)), at);
  }
for (const s of [...cache.ownKeyScales, ...cache.ownValueScales]) s.fill(0.02 / 127);
const afterCache = rssGiB();
const stepSeconds: number[] = [];
const stepCpu: number[] = [];
for (let s = 0; s < STEPS; s++) {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const logits = step.decode(cache, new Int32Array(BATCH).fill(7 + s), new Int32Array(BATCH).fill(filled + s));
  logits.dispose();
  stepSeconds.push((performance.now() - w0) / 1000);
  const cu = process.cpuUsage(c0);
  stepCpu.push((cu.user + cu.system) / 1e6);
}
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(", ");
console.log(
  `${new Date().toISOString()}, load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}: batch ${BATCH} × ${LENGTH} tokens, ${WEIGHTS} weights, ${KV} KV cache ` +
    `${(kvBytes / GiB).toFixed(2)} GiB (${(perToken / 1024).toFixed(2)} KiB/token); peak RSS ${afterHost.toFixed(2)} GiB with the host weights, ` +
    `${afterSession.toFixed(2)} GiB through the session build (${buildSeconds.toFixed(0)} s), RSS ${settled.toFixed(2)} GiB with the session alone, ` +
    `${afterCache.toFixed(2)} GiB with the cache written; decode steps at positions ${filled}…${LENGTH - 1}: ${fmt(stepSeconds)} s wall (${fmt(stepCpu)} CPU s)`,
);
console.log(`peak RSS (VmHWM) at batch ${BATCH} × ${LENGTH}, ${WEIGHTS} weights, ${KV} KV, arena ${ARENA ? "on" : "off"}: ${peakGiB().toFixed(2)} GiB`);
cache.dispose();
