/**
 * Raw decode throughput on the chosen backend (default wasm), random weights, KV length ≈ 128
 * on average over the timed steps. Ratios are against the naive tfjs decode (bench/model/naive.ts)
 * measured in the same process.
 *
 *   npx tsx bench/model/run.ts [main|cache|llama|gpt2small|quick ...]   (default: all but quick)
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../forge/backend/index.js";
import { DecoderModel, smallConfig, type CacheOptions } from "../../forge/model/index.js";
import { rawDecodeLoop } from "./decode.js";
import { naiveCache, naiveDecode, naiveDecodeLoop } from "./naive.js";

const sections = process.argv.slice(2);
const want = (s: string) => (sections.length === 0 && s !== "quick") || sections.includes(s);
const backend = await initBackend((process.env.FORGE_BACKEND as "wasm") ?? "wasm");
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
console.log(`backend ${backend}`);

const small = smallConfig("gpt2", { vocabSize: 8192, hiddenSize: 256, heads: 4, layers: 4, maxPositions: 1024 });

/** The baseline and our decode agree before we compare their speed. */
function checkSameLogits(model: DecoderModel): void {
  const B = 3;
  const ours = model.createCache(B, 8);
  const naive = naiveCache(model, B);
  let worst = 0;
  for (let t = 0; t < 4; t++) {
    const ids = tf.tensor1d([t, 7 * t + 1, 100 + t], "int32");
    const a = model.decode(ours, ids, new Int32Array(B).fill(t));
    const b = naiveDecode(model, naive, ids, t);
    worst = Math.max(worst, tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    tf.dispose([ids, a, b]);
  }
  ours.dispose();
  if (worst > 1e-3) throw new Error(`naive baseline disagrees with DecoderModel.decode (max |Δlogit| ${worst})`);
  console.log(`naive baseline agrees with decode: max |Δlogit| ${worst.toExponential(1)}`);
}

if (want("main")) {
  const model = DecoderModel.random(small, 1);
  checkSameLogits(model);
  console.log("\n4 layers, width 256, 4 heads, vocab 8192 (GPT-2 family); KV 96→160");
  console.log("| batch | ours + sampler tok/s | ours argmax tok/s | naive argmax tok/s | ratio (argmax) | ms/step (ours + sampler) |");
  console.log("|---|---|---|---|---|---|");
  for (const B of [1, 64, 256]) {
    const steps = B === 1 ? 128 : 64;
    const sampled = await rawDecodeLoop(model, B, steps, { prefill: 96 });
    const argmax = await rawDecodeLoop(model, B, steps, { prefill: 96, sampling: null });
    const naive = await naiveDecodeLoop(model, B, steps, 96);
    console.log(`| ${B} | ${fmt(sampled.tokensPerSecond)} | ${fmt(argmax.tokensPerSecond)} | ${fmt(naive.tokensPerSecond)} | ${(argmax.tokensPerSecond / naive.tokensPerSecond).toFixed(2)}× | ${sampled.msPerStep.toFixed(2)} |`);
  }
  model.dispose();
}

if (want("quick")) {
  // Ours only (no naive baseline), 32 timed steps at KV 112→144: a fast check of the table above.
  const model = DecoderModel.random(small, 1);
  console.log("\nquick: 4 layers, width 256, vocab 8192 (GPT-2 family); KV 112→144");
  console.log("| batch | ours + sampler tok/s | ours argmax tok/s |");
  console.log("|---|---|---|");
  for (const B of [1, 64, 256]) {
    const sampled = await rawDecodeLoop(model, B, 32, { prefill: 112 });
    const argmax = await rawDecodeLoop(model, B, 32, { prefill: 112, sampling: null });
    console.log(`| ${B} | ${fmt(sampled.tokensPerSecond)} | ${fmt(argmax.tokensPerSecond)} |`);
  }
  model.dispose();
}

if (want("cache")) {
  const model = DecoderModel.random(small, 1);
  console.log("\nKV-cache storage at KV 96→128 (argmax), tokens/s");
  const variants: [string, CacheOptions][] = [
    ["inplace chunk 16", { mode: "inplace", chunk: 16 }],
    ["inplace chunk 32", { mode: "inplace", chunk: 32 }],
    ["inplace chunk 64", { mode: "inplace", chunk: 64 }],
    ["inplace preallocated", { mode: "inplace", chunk: 1 << 20 }],
    ["functional (concat)", { mode: "functional" }],
  ];
  console.log(`| cache | ${[64, 256].map((b) => `batch ${b}`).join(" | ")} |`);
  console.log("|---|---|---|");
  for (const [name, cache] of variants) {
    const cells: string[] = [];
    for (const B of [64, 256]) cells.push(fmt((await rawDecodeLoop(model, B, 32, { prefill: 96, sampling: null, cache })).tokensPerSecond));
    console.log(`| ${name} | ${cells.join(" | ")} |`);
  }
  model.dispose();
}

if (want("llama")) {
  const config = smallConfig("llama", { vocabSize: 8192, hiddenSize: 256, heads: 4, kvHeads: 2, layers: 4, intermediateSize: 683, maxPositions: 1024 });
  const model = DecoderModel.random(config, 1);
  console.log("\nLlama family, 4 layers, width 256, 4 heads / 2 kv heads, vocab 8192; KV 96→160, with sampler");
  console.log("| batch | tok/s | ms/step |");
  console.log("|---|---|---|");
  for (const B of [1, 64, 256]) {
    const r = await rawDecodeLoop(model, B, B === 1 ? 128 : 64, { prefill: 96 });
    console.log(`| ${B} | ${fmt(r.tokensPerSecond)} | ${r.msPerStep.toFixed(2)} |`);
  }
  model.dispose();
}

if (want("gpt2small")) {
  const config = smallConfig("gpt2", { vocabSize: 50257, hiddenSize: 768, heads: 12, layers: 12, maxPositions: 1024 });
  const model = DecoderModel.random(config, 1);
  console.log("\nGPT-2 small shape (12 × 768, vocab 50257); KV 96→128");
  console.log("| batch | ours + sampler tok/s | ours argmax tok/s | naive argmax tok/s | ratio (argmax) |");
  console.log("|---|---|---|---|---|");
  for (const B of [1, 8]) {
    const sampled = await rawDecodeLoop(model, B, 32, { prefill: 96 });
    const argmax = await rawDecodeLoop(model, B, 32, { prefill: 96, sampling: null });
    const naive = await naiveDecodeLoop(model, B, 32, 96);
    console.log(`| ${B} | ${fmt(sampled.tokensPerSecond)} | ${fmt(argmax.tokensPerSecond)} | ${fmt(naive.tokensPerSecond)} | ${(argmax.tokensPerSecond / naive.tokensPerSecond).toFixed(2)}× |`);
  }
  model.dispose();
}
