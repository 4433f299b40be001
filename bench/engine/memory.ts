/**
 * Peak memory of the ONNX engine at a batch × length (issue 17's goal: batch 256 × 2 048 tokens
 * of the SmolLM2-135M shape in 8 GiB), one configuration per process:
 *
 *   BATCH=256 LENGTH=512 WEIGHTS=int8 npx tsx bench/engine/memory.ts
 *
 * Builds the 135M-shape model (random weights), its ONNX session (as makeBackend does for a
 * folder: the tfjs weights released once ONNX Runtime has its copy), a cache holding LENGTH
 * columns for every row (the positions a run at that length fills; a constant here, written so
 * the pages are resident), and runs one decode step for every row at position LENGTH − 1, so attention reads the
 * whole cache. Prints the peak resident set (VmHWM) at each stage and the f32 KV cache's size.
 */
import { readFileSync } from "node:fs";
import { initBackend } from "../../forge/backend/index.js";
import { OnnxStepModel } from "../../forge/backend/onnx/model.js";
import { smolModel, SMOL_135M } from "./shape.js";

const BATCH = Number(process.env.BATCH ?? 256);
const LENGTH = Number(process.env.LENGTH ?? 512);
const WEIGHTS = (process.env.WEIGHTS ?? "int8") as "f32" | "int8";
const GiB = 2 ** 30;

function peakGiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? (Number(m[1]) * 1024) / GiB : NaN;
}
function rssGiB(): number {
  return process.memoryUsage().rss / GiB;
}

await initBackend("wasm");
const { layers, kvHeads, headDim } = SMOL_135M;
const kvBytes = layers * 2 * BATCH * kvHeads * LENGTH * headDim * 4;
const model = smolModel();
const afterTfjs = peakGiB();
const step = await OnnxStepModel.fromDecoder(model, { weights: WEIGHTS });
model.releaseWeights();
global.gc?.();
const afterSession = peakGiB();
const settled = rssGiB();
const cache = step.createCache(BATCH, LENGTH);
cache.reserve(LENGTH);
cache.rowLength.fill(LENGTH - 1);
// Write every column, as a run does: untouched pages of a fresh allocation are not resident.
for (const a of [...cache.ownKeys, ...cache.ownValues]) a.fill(0.01);
const afterCache = rssGiB();
const t0 = performance.now();
const logits = step.decode(cache, new Int32Array(BATCH).fill(7), new Int32Array(BATCH).fill(LENGTH - 1));
const seconds = (performance.now() - t0) / 1000;
logits.dispose();
console.log(
  `batch ${BATCH} × ${LENGTH} tokens, ${WEIGHTS} weights: f32 KV cache ${(kvBytes / GiB).toFixed(2)} GiB (${((kvBytes / BATCH / LENGTH) / 1024).toFixed(1)} KiB/token); ` +
    `peak RSS ${afterTfjs.toFixed(2)} GiB with the tfjs weights, ${afterSession.toFixed(2)} GiB through the session build, ` +
    `RSS ${settled.toFixed(2)} GiB with the session alone, ${afterCache.toFixed(2)} GiB with the cache; ` +
    `peak ${peakGiB().toFixed(2)} GiB after one step at position ${LENGTH - 1} (${seconds.toFixed(1)} s)`,
);
cache.dispose();
