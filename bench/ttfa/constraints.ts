/**
 * Benchmark: constrained zones (docs/automaton.md#constrained-zones) — what a mask costs per
 * stream-step at batch 64 (goal ≤ 10 µs for choices and regex masks), on GPT-2's vocabulary
 * cut to 8 192 tokens (the engine bench's) and on the whole of it (50 257), plus assembly time
 * of the constraint tables and the constraint-state walk in the host automaton.
 *
 * Every stream is constrained (the worst case: free rows cost nothing), each in a state taken
 * from a random walk through its constraint, so the allowed lists are the ones a run meets.
 *
 *   npx tsx bench/ttfa/constraints.ts
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { loadGpt2Tokenizer } from "../../forge/tokenizer/index.js";
import type { ForgeTokenizer } from "../../forge/tokenizer/types.js";
import { SZCP_FORMAT, SZCP_VERSION, type SzcpWorkflow, type ZoneConstraint } from "../../forge/szcp/types.js";
import { allowedTokens, compileForBackend, constraintNext, HostAutomaton, type TtfaProgram } from "../../forge/ttfa/index.js";
import { drawConstrained, maskLogitsInPlace, maskLogitsTensor } from "../../forge/ttfa/mask.js";
import { sampleTokensHost } from "../../forge/sampler/host.js";
import { ChoiceScorer } from "../../forge/ttfa/choices.js";
import { loadGpt2TokenizerCut } from "./gpt2-8k.js";

const B = 64;
const REPS = Number(process.env.REPS ?? 200);

const CONSTRAINTS: Array<[string, ZoneConstraint]> = [
  ["choices (yes/no/unsure)", { kind: "choices", choices: ["yes", "no", "unsure"] }],
  ["regex \\d{1,3}(\\.\\d+)?", { kind: "regex", pattern: "\\d{1,3}(\\.\\d+)?" }],
  ["regex [a-z ]{1,40}", { kind: "regex", pattern: "[a-z ]{1,40}" }],
];

function workflowWith(constraint: ZoneConstraint): SzcpWorkflow {
  const zone = (text: string, z: number, next: number, c: ZoneConstraint | null) => ({
    text, advance: z === 0 ? "[Answer]" : "[EOS]", next, jump: null, loop: null, tags: [], maxGen: 64, capture: null, feed: null,
    sequence: "main", block: 0, zone: z, repetition: 0, ...(c ? { constraint: c } : {}),
  });
  return {
    format: SZCP_FORMAT, version: SZCP_VERSION,
    config: { zoneTokens: ["[Prompt]", "[Answer]", "[EOS]"], controlToken: "[Jump]", escape: null, tokenizerOverride: {}, tools: [] },
    zones: [zone("[Prompt] Question? [Answer]", 0, 1, null), zone("", 1, -1, constraint)],
    counters: 0, extractions: [], meta: {},
  };
}

/** B constrained states from random walks (never the free state 0). */
function walkStates(program: TtfaProgram, seed: number): Int32Array {
  const t = program.constraints;
  const out = new Int32Array(B);
  let a = seed;
  const rand = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let b = 0; b < B; b++) {
    let s = program.constraintStart[1]!;
    const steps = Math.floor(rand() * 4);
    for (let k = 0; k < steps; k++) {
      const allowed = allowedTokens(t, s);
      const next = constraintNext(t, s, allowed[Math.floor(rand() * allowed.length)]!);
      if (next === 0) break;
      s = next;
    }
    out[b] = s;
  }
  return out;
}

/**
 * µs per call, by CPU time (user + system of this process): the machine is shared, and a
 * call's wall time swings with the other tenants' load while its CPU time barely does
 * (bench/ttfa/README.md). WALL=1 reports wall time instead.
 */
function timeUs(f: () => void, reps: number): number {
  for (let i = 0; i < Math.min(10, reps); i++) f();
  const wall = process.env.WALL === "1";
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) f();
  if (wall) return Number(process.hrtime.bigint() - t0) / 1e3 / reps;
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / reps;
}

async function main(): Promise<void> {
  await tf.setBackend("wasm");
  const tokenizers: Array<[string, ForgeTokenizer]> = [["gpt2-8192", await loadGpt2TokenizerCut(8192)], ["gpt2 (50 257)", await loadGpt2Tokenizer()]];
  console.log(`Constraint masks, batch ${B}, every stream constrained; µs per stream-step (÷ ${B}) of ${process.env.WALL === "1" ? "wall" : "CPU"} time; ${REPS} reps; wasm backend for the tensor forms.\n`);
  console.log("| vocabulary | constraint | states | allowed (mean) | assemble ms | engine draw on wasm/cpu (among allowed) | masked row (fill + scatter) | tensor bias mask (wasm) | constraint walk in the host step | the sampler alone, per row | choice scoring (first step of a visit) |");
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const [vocabName, tokenizer] of tokenizers) {
    const V = tokenizer.vocabSize;
    for (const [name, constraint] of CONSTRAINTS) {
      const w = workflowWith(constraint);
      const t0 = performance.now();
      const program = compileForBackend(w, tokenizer);
      const assembleMs = performance.now() - t0;
      const states = walkStates(program, 7);
      const allowedMean = Array.from(states).reduce((n, s) => n + allowedTokens(program.constraints, s).length, 0) / B;
      const logits = Float32Array.from({ length: B * V }, (_, i) => Math.sin(i * 0.61) * 4);
      const work = new Float32Array(B * V);
      // Host: the mask alone (the copy that restores the row each rep is timed separately and subtracted).
      const copyUs = timeUs(() => work.set(logits), REPS);
      const hostUs = timeUs(() => { work.set(logits); maskLogitsInPlace(work, V, states, program.constraints); }, REPS) - copyUs;
      // Tensor: gather of the [S, V] mask rows + Select, read back to make sure it ran.
      const lt = tf.tensor2d(logits, [B, V]);
      const st = tf.tensor1d(states, "int32");
      const tensorUs = timeUs(() => { const m = maskLogitsTensor(lt, st, program.constraints); m.dataSync(); m.dispose(); }, Math.max(10, REPS / 10));
      const readUs = timeUs(() => { const m = lt.clone(); m.dataSync(); m.dispose(); }, Math.max(10, REPS / 10));
      // What the engine does on wasm/cpu: each constrained row drawn again by the seeded sampler from its allowed tokens.
      const drawn = new Int32Array(B);
      const draw = (row: Float32Array, w: number, r: number) => sampleTokensHost(row, w, { temperature: 1 }, 1, [r], [r])[0]!;
      const drawUs = timeUs(() => drawConstrained(logits, V, states, program.constraints, draw, drawn), REPS);
      const samplerUs = timeUs(() => sampleTokensHost(logits, V, { temperature: 1 }, 1, Int32Array.from({ length: B }, (_, r) => r), Int32Array.from({ length: B }, (_, r) => r)), Math.max(10, REPS / 10));
      lt.dispose();
      st.dispose();
      // The constraint walk inside the host automaton's step: host step with the program vs the same step unconstrained.
      const free = compileForBackend({ ...w, zones: w.zones.map(({ constraint: _unused, ...z }) => z) }, tokenizer);
      const sampled = Int32Array.from({ length: B }, (_, b) => allowedTokens(program.constraints, states[b]!)[0]!);
      const stepUs = (p: TtfaProgram) => {
        const h = new HostAutomaton(p, B);
        return timeUs(() => h.step(sampled), REPS * 5);
      };
      const walkUs = stepUs(program) - stepUs(free);
      // Choice scoring: the scorer's softmax over each constrained row and its bookkeeping.
      let scoreUs = NaN;
      if (constraint.kind === "choices") {
        const records = Array.from({ length: B }, (_, b) => [{ token: sampled[b]!, pc: 1, forced: 0, event: 0, nextPc: 1, done: 0, record: 1 }]);
        // The first generated step of a visit in every slot, the costly one: softmax of the row and the first-token mass of every choice.
        const view = {
          logits: { shape: [B, V], dataSync: () => logits }, rows: Int32Array.from({ length: B }, (_, b) => b), instance: Int32Array.from({ length: B }, (_, b) => b),
          records, constraintStates: states, positions: new Int32Array(B),
        };
        scoreUs = timeUs(() => new ChoiceScorer(program, (t) => tokenizer.tokenBytes(t)).onStep(view), Math.max(5, REPS / 20));
      }
      const per = (us: number) => (us / B).toFixed(2);
      console.log(
        `| ${vocabName} | ${name} | ${program.constraints.stateCount - 1} | ${allowedMean.toFixed(0)} | ${assembleMs.toFixed(0)} | ${per(drawUs)} | ${per(hostUs)} | ${per(tensorUs - readUs)} | ${per(walkUs)} | ${per(samplerUs)} | ${Number.isNaN(scoreUs) ? "—" : per(scoreUs)} |`,
      );
    }
  }
}

await main();
