/**
 * Benchmark: µs per automaton step at batch 1 / 64 / 256 — the TensorAutomaton on tfjs
 * (wasm by default; BACKEND=cpu to compare) against the reference interpreter stepping B
 * streams on the host (HostAutomaton), measured in the same process. Program: 200 zones (loops, branches,
 * capture-free), GPT-2's vocabulary (50 257 tokens), sampled tokens mixing random ids with
 * pattern pieces so triggers fire.
 *
 *   npx tsx bench/ttfa/automaton-step.ts
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { loadGpt2Tokenizer } from "../../forge/tokenizer/index.js";
import { SZCP_FORMAT, SZCP_VERSION, type SzcpWorkflow, type SzcpZone } from "../../forge/szcp/types.js";
import { compileForBackend, HostAutomaton, TensorAutomaton } from "../../forge/ttfa/index.js";

const ZONES = 200;
const STEPS = Number(process.env.STEPS ?? 300);
const BATCHES = [1, 64, 256];

function benchWorkflow(): SzcpWorkflow {
  const zones: SzcpZone[] = [];
  for (let z = 0; z < ZONES; z++) {
    const head = z % 10 === 0;
    zones.push({
      text: `[Prompt] step ${z} of the plan [Answer]`, advance: z % 2 ? "[EOS]" : "[Answer]",
      next: z + 1 < ZONES ? z + 1 : 0, jump: head || z % 7 === 3 ? (z + 10) % ZONES : null,
      loop: head ? { counter: (z / 10) % 4, min: 1, max: 3 } : null,
      tags: [], maxGen: 24, capture: null, feed: null, sequence: `s${z % 5}`, block: z, zone: 0, repetition: 0,
    });
  }
  return {
    format: SZCP_FORMAT, version: SZCP_VERSION,
    config: { zoneTokens: ["[Prompt]", "[Answer]", "[EOS]"], controlToken: "[Jump]", escape: { kind: "pair", open: "<<", close: ">>" }, tokenizerOverride: {}, tools: [] },
    zones, counters: 4, extractions: [], meta: {},
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const backend = process.env.BACKEND ?? "wasm";
await tf.setBackend(backend);
await tf.ready();
const tokenizer = await loadGpt2Tokenizer();
const program = compileForBackend(benchWorkflow(), tokenizer);
console.log(`backend ${tf.getBackend()}, Z = ${program.zoneCount}, trigger states = ${program.trigger.stateCount}, vocabulary = ${program.vocabSize}, ${STEPS} steps`);

// Sampled tokens: 70 % random ids, 30 % pieces of the patterns.
const pieces = ["[Answer]", "[EOS]", "[Jump]", "<<", ">>", "[Ans", "wer]"].flatMap((p) => tokenizer.encode(p));
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const sampledFor = (B: number) =>
  Array.from({ length: STEPS + 20 }, () => Int32Array.from({ length: B }, () => (rand() < 0.7 ? Math.floor(rand() * 50257) : pieces[Math.floor(rand() * pieces.length)]!)));

console.log("batch | tensor step µs | tensor + read-back µs | host (reference) µs | tensor / host");
for (const B of BATCHES) {
  const inputs = sampledFor(B);
  // Tensor automaton: upload the sampled tokens, step, dispose; and the same plus reading the tokens back.
  const automaton = new TensorAutomaton(program, B);
  const stepTimes: number[] = [];
  const readTimes: number[] = [];
  for (let i = 0; i < STEPS + 20; i++) {
    const input = tf.tensor1d(inputs[i]!, "int32");
    const t0 = performance.now();
    const out = automaton.step(input);
    const t1 = performance.now();
    out.token.dataSync();
    const t2 = performance.now();
    input.dispose();
    Object.values(out).forEach((x) => x.dispose());
    if (i >= 20) {
      stepTimes.push((t1 - t0) * 1000);
      readTimes.push((t2 - t0) * 1000);
    }
  }
  automaton.dispose();
  // Baseline: the reference interpreter stepping B streams on the host (HostAutomaton, same outputs).
  const host = new HostAutomaton(program, B);
  const refTimes: number[] = [];
  for (let i = 0; i < STEPS + 20; i++) {
    const t0 = performance.now();
    host.step(inputs[i]!);
    const t1 = performance.now();
    if (i >= 20) refTimes.push((t1 - t0) * 1000);
  }
  const [ts, tr, rf] = [median(stepTimes), median(readTimes), median(refTimes)];
  console.log(`${String(B).padStart(5)} | ${ts.toFixed(1).padStart(14)} | ${tr.toFixed(1).padStart(21)} | ${rf.toFixed(2).padStart(19)} | ${(ts / rf).toFixed(0).padStart(6)}×`);
}
