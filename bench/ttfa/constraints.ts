/**
 * Benchmark: constrained zones (docs/automaton.md#constrained-zones) — what a mask costs per
 * stream-step at batch 64 (goal ≤ 10 µs for choices and regex masks), on GPT-2's vocabulary
 * cut to 8 192 tokens (the engine bench's) and on the whole of it (50 257), plus assembly time
 * of the constraint tables and the constraint-state walk in the host automaton.
 *
 * Every stream is constrained (the worst case: free rows cost nothing), each in a state taken
 * from a random walk through its constraint, so the allowed lists are the ones a run meets.
 *
 * The figure for the goal: the engine's wasm/cpu sampling of the batch with every stream
 * constrained (sampleConstrainedHost) minus the same sampler on the unconstrained batch, by
 * CPU time, the two alternating in rounds in this process (the median of the rounds'
 * differences, see alternate); the path before (commit 82d2047:
 * each broad row sampled from a masked copy, free rows in runs shorter than 8 copied too) is
 * timed in the same rounds, all constrained and every other stream free. The draws are
 * checked against the path before that (every row sampled, then each constrained row drawn
 * again from a fill-and-scatter masked copy). The last line prints the worst row of the new
 * path.
 *
 *   npx tsx bench/ttfa/constraints.ts
 */
import { loadavg } from "node:os";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { loadGpt2Tokenizer } from "../../forge/tokenizer/index.js";
import type { ForgeTokenizer } from "../../forge/tokenizer/types.js";
import { SZCP_FORMAT, SZCP_VERSION, type SzcpWorkflow, type ZoneConstraint } from "../../forge/szcp/types.js";
import { allowedTokens, compileForBackend, constraintNext, HostAutomaton, type TtfaProgram } from "../../forge/ttfa/index.js";
import { allowedBits, allowedList, maskLogitsInPlace, maskLogitsTensor, sampleConstrainedHost } from "../../forge/ttfa/mask.js";
import { maskedRowCopies, type HostHeap } from "../../forge/ttfa/mask-kernel.js";
import type { ConstraintTable } from "../../forge/ttfa/constraint.js";
import { sampleTokensHost } from "../../forge/sampler/host.js";
import { wasmHeap } from "../../forge/sampler/dispatch.js";
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

/** The wasm/cpu engine path before sampleConstrainedHost (commit 1f0b27f's drawConstrained and maskLogitsInPlace loops, removed since), for the ratio: every row sampled, then each constrained row drawn again (few allowed: compact row; many: a copy masked by fill and scatter). */
const oldScratch = { values: new Float32Array(256), row: new Float32Array(0), keep: new Float32Array(64) };
function oldEnginePath(logits: Float32Array, V: number, states: Int32Array, table: ConstraintTable, rows: Int32Array): Int32Array {
  const tokens = sampleTokensHost(logits, V, { temperature: 1 }, 1, rows, rows);
  for (let r = 0; r < states.length; r++) {
    const allowed = allowedOf(table, states[r]!);
    const n = allowed.length;
    const base = r * V;
    if (n * 2 <= V) {
      if (oldScratch.values.length < n) oldScratch.values = new Float32Array(n);
      const values = oldScratch.values;
      for (let k = 0; k < n; k++) values[k] = logits[base + allowed[k]!]!;
      tokens[r] = allowed[sampleTokensHost(values.subarray(0, n), n, { temperature: 1 }, 1, [r], [r])[0]!]!;
    } else {
      if (oldScratch.row.length < V) oldScratch.row = new Float32Array(V);
      const row = oldScratch.row.subarray(0, V);
      row.set(logits.subarray(base, base + V));
      if (oldScratch.keep.length < n) oldScratch.keep = new Float32Array(n);
      const keep = oldScratch.keep;
      for (let k = 0; k < n; k++) keep[k] = row[allowed[k]!]!;
      row.fill(-Infinity);
      for (let k = 0; k < n; k++) row[allowed[k]!] = keep[k]!;
      tokens[r] = sampleTokensHost(row, V, { temperature: 1 }, 1, [r], [r])[0]!;
    }
  }
  return tokens;
}

/**
 * sampleConstrainedHost as it was before the masks moved into the sampler's passes (commit
 * 82d2047), for the ratio: broad rows sampled from masked copies (maskedRowCopies, in the
 * heap), 8 per sampler call; free rows in place in runs of ≥ 8, shorter runs copied with the
 * masked rows; narrow rows from compact rows.
 */
function copyPathBefore(logits: Float32Array, width: number, states: Int32Array, table: ConstraintTable, heap: HostHeap): Int32Array {
  const R = states.length;
  const byteOffset = logits.byteOffset;
  const view = () => (logits.buffer !== heap.memory.buffer ? (logits = new Float32Array(heap.memory.buffer, byteOffset, R * width)) : logits);
  const drawRows = (x: Float32Array, index: Int32Array) => sampleTokensHost(x, width, { temperature: 1 }, 1, index, index, undefined, heap);
  const tokens = new Int32Array(R);
  const kind = new Uint8Array(R);
  const below = (list: Int32Array) => { let n = list.length; while (n > 0 && list[n - 1]! >= width) n--; return n; };
  for (let r = 0; r < R; r++) {
    if (states[r] === 0) continue;
    const n = below(allowedList(table, states[r]!));
    kind[r] = n === width ? 0 : n * 2 > width ? 2 : 1;
  }
  const copied: number[] = [];
  for (let start = 0; start < R; ) {
    if (kind[start] !== 0) {
      if (kind[start] === 2) copied.push(start);
      start++;
      continue;
    }
    let end = start;
    while (end < R && kind[end] === 0) end++;
    if (end - start >= 8 || end - start === R) tokens.set(drawRows(view().subarray(start * width, end * width), Int32Array.from({ length: end - start }, (_, k) => start + k)), start);
    else for (let r = start; r < end; r++) copied.push(r);
    start = end;
  }
  for (let r = 0; r < R; r++) {
    if (kind[r] !== 1) continue;
    const allowed = allowedList(table, states[r]!);
    const n = below(allowed);
    if (oldScratch.values.length < n) oldScratch.values = new Float32Array(n);
    const x = view();
    for (let k = 0; k < n; k++) oldScratch.values[k] = x[r * width + allowed[k]!]!;
    tokens[r] = allowed[sampleTokensHost(oldScratch.values.subarray(0, n), n, { temperature: 1 }, 1, [r], [r])[0]!]!;
  }
  copied.sort((x, y) => x - y);
  const everything = new Uint32Array(Math.ceil(width / 32)).fill(0xffffffff);
  for (let a = 0; a < copied.length; a += 8) {
    const rows = Int32Array.from(copied.slice(a, a + 8));
    const drawn = drawRows(maskedRowCopies(view(), width, rows, (r) => (kind[r] === 2 ? allowedBits(table, states[r]!) : everything), heap), rows);
    rows.forEach((r, k) => (tokens[r] = drawn[k]!));
  }
  return tokens;
}

const allowedCache = new Map<string, Int32Array>();
function allowedOf(table: ConstraintTable, state: number): Int32Array {
  const key = `${table.columns}:${table.stateCount}:${state}`;
  let list = allowedCache.get(key);
  if (!list) allowedCache.set(key, (list = allowedTokens(table, state)));
  return list;
}

/**
 * CPU µs per call of each function, alternating in `rounds` rounds (each round: one call of
 * each, in turn): `median`, the median round, since on the shared machine a call that loses
 * its core midway inflates the mean; `overFirst`, the median over rounds of each function's
 * time minus the first function's in the same round (paired: a round's calls run back to
 * back, so the other tenants' load weighs on both sides of the difference alike).
 */
function alternate(fs: Array<() => void>, rounds: number): { median: number[]; overFirst: number[] } {
  for (const f of fs) for (let i = 0; i < 3; i++) f();
  const times = fs.map((): number[] => []);
  for (let k = 0; k < rounds; k++)
    fs.forEach((f, i) => {
      const c0 = process.cpuUsage();
      f();
      const c = process.cpuUsage(c0);
      times[i]!.push(c.user + c.system);
    });
  const median = (t: number[]) => t.slice().sort((a, b) => a - b)[t.length >> 1]!;
  return { median: times.map(median), overFirst: times.map((t) => median(t.map((x, k) => x - times[0]![k]!))) };
}

async function main(): Promise<void> {
  await tf.setBackend("wasm");
  const tokenizers: Array<[string, ForgeTokenizer]> = [["gpt2-8192", await loadGpt2TokenizerCut(8192)], ["gpt2 (50 257)", await loadGpt2Tokenizer()]];
  const rounds = Number(process.env.ROUNDS ?? 40);
  console.log(`Constraint masks, batch ${B}, every stream constrained; µs per stream-step (÷ ${B}) of ${process.env.WALL === "1" ? "wall" : "CPU"} time; ${REPS} reps (engine columns: median of the paired differences over ${rounds} alternating rounds); wasm backend for the tensor forms. ${new Date().toISOString()}, load ${loadavg().map((x) => x.toFixed(2)).join(" ")}\n`);
  console.log("| vocabulary | constraint | states | allowed (mean) | assemble ms | **engine: constrained − free sampling** | masked copies (before), same rounds | **every other stream free, per constrained stream** | same, masked copies (before) | maskLogitsInPlace per row | tensor bias mask (wasm) | constraint walk in the host step | the sampler alone, per row | choice scoring (first step of a visit) |");
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  let worst = { us: -Infinity, what: "" };
  for (const [vocabName, tokenizer] of tokenizers) {
    const V = tokenizer.vocabSize;
    for (const [name, constraint] of CONSTRAINTS) {
      const w = workflowWith(constraint);
      const t0 = performance.now();
      const program = compileForBackend(w, tokenizer);
      const assembleMs = performance.now() - t0;
      const table = program.constraints;
      const states = walkStates(program, 7);
      const allowedMean = Array.from(states).reduce((n, s) => n + allowedTokens(table, s).length, 0) / B;
      const logits = Float32Array.from({ length: B * V }, (_, i) => Math.sin(i * 0.61) * 4);
      const rows = Int32Array.from({ length: B }, (_, r) => r);
      // The engine's wasm sampling, the logits in the backend's heap (read in place, as forge/engine/batch/constrained.ts
      // does): free batch, constrained batch (new), constrained batch (before).
      const lt = tf.tensor2d(logits, [B, V]);
      const heap = wasmHeap();
      const heapView = () => (tf.backend() as unknown as { typedArrayFromHeap: (t: tf.Tensor) => Float32Array }).typedArrayFromHeap(lt);
      const free = () => sampleTokensHost(heapView(), V, { temperature: 1 }, 1, rows, rows, undefined, heap);
      const mixedStates = states.map((st, r) => (r % 2 === 1 ? st : 0)); // every other stream free: the most runs to split
      const constrainedAs = (which: Int32Array) => () =>
        sampleConstrainedHost(
          heapView(), V, which, table,
          (x, width, index, masks, out) => sampleTokensHost(x, width, { temperature: 1 }, 1, rows, rows, out, heap, { rows: index, masks }),
          (row, width, r) => sampleTokensHost(row, width, { temperature: 1 }, 1, [r], [r])[0]!,
          heap,
        );
      const constrained = constrainedAs(states);
      const before = oldEnginePath(logits, V, states, table, rows);
      const same = Array.from(constrained()).every((t, r) => t === before[r]);
      if (!same) throw new Error(`${vocabName} ${name}: the new path draws other tokens than the old one`);
      const mixedBefore = Array.from(copyPathBefore(heapView(), V, mixedStates, table, heap!));
      if (Array.from(constrainedAs(mixedStates)()).some((t, r) => t !== mixedBefore[r])) throw new Error(`${vocabName} ${name}: the new path draws other tokens than the copy path (mixed batch)`);
      const { median: [freeUs], overFirst: [, newUs, oldUs, mixedUs, mixedOldUs] } = alternate(
        [free, constrained, () => copyPathBefore(heapView(), V, states, table, heap!), constrainedAs(mixedStates), () => copyPathBefore(heapView(), V, mixedStates, table, heap!)],
        rounds,
      ) as { median: [number, number, number, number, number]; overFirst: [number, number, number, number, number] };
      const work = new Float32Array(B * V);
      // Host: the mask alone (the copy that restores the row each rep is timed separately and subtracted).
      const copyUs = timeUs(() => work.set(logits), REPS);
      const hostUs = timeUs(() => { work.set(logits); maskLogitsInPlace(work, V, states, table); }, REPS) - copyUs;
      // Tensor: gather of the [S, V] mask rows + add, read back to make sure it ran.
      const st = tf.tensor1d(states, "int32");
      const tensorUs = timeUs(() => { const m = maskLogitsTensor(lt, st, table); m.dataSync(); m.dispose(); }, Math.max(10, REPS / 10));
      const readUs = timeUs(() => { const m = lt.clone(); m.dataSync(); m.dispose(); }, Math.max(10, REPS / 10));
      lt.dispose();
      st.dispose();
      // The constraint walk inside the host automaton's step: host step with the program vs the same step unconstrained.
      const unconstrained = compileForBackend({ ...w, zones: w.zones.map(({ constraint: _unused, ...z }) => z) }, tokenizer);
      const sampled = Int32Array.from({ length: B }, (_, b) => allowedTokens(table, states[b]!)[0]!);
      const stepUs = (p: TtfaProgram) => {
        const h = new HostAutomaton(p, B);
        return timeUs(() => h.step(sampled), REPS * 5);
      };
      const walkUs = stepUs(program) - stepUs(unconstrained);
      // Choice scoring: the scorer's softmax over each constrained row and its bookkeeping.
      let scoreUs = NaN;
      if (constraint.kind === "choices") {
        const records = Array.from({ length: B }, (_, b) => [{ token: sampled[b]!, pc: 1, forced: 0, event: 0, nextPc: 1, done: 0, record: 1 }]);
        // The first generated step of a visit in every slot, the costly one: softmax of the row and the first-token mass of every choice.
        const view = {
          logits: { shape: [B, V], dataSync: () => logits }, rows, instance: rows,
          records, constraintStates: states, positions: new Int32Array(B),
        };
        scoreUs = timeUs(() => new ChoiceScorer(program, (t) => tokenizer.tokenBytes(t)).onStep(view), Math.max(5, REPS / 20));
      }
      const per = (us: number) => (us / B).toFixed(2);
      // The paired differences over free sampling (alternate's overFirst).
      const costUs = newUs / B;
      const mixedCostUs = mixedUs / (B / 2);
      if (costUs > worst.us) worst = { us: costUs, what: `${vocabName}, ${name}` };
      if (mixedCostUs > worst.us) worst = { us: mixedCostUs, what: `${vocabName}, ${name}, every other stream free` };
      console.log(
        `| ${vocabName} | ${name} | ${table.stateCount - 1} | ${allowedMean.toFixed(0)} | ${assembleMs.toFixed(0)} | **${costUs.toFixed(2)}** | ${per(oldUs)} | **${mixedCostUs.toFixed(2)}** | ${(mixedOldUs / (B / 2)).toFixed(2)} | ${per(hostUs)} | ${per(tensorUs - readUs)} | ${per(walkUs)} | ${per(freeUs)} | ${Number.isNaN(scoreUs) ? "—" : per(scoreUs)} |`,
      );
    }
  }
  console.log(`\nworst row: ${worst.what}: ${worst.us.toFixed(2)} µs of CPU per stream-step over free sampling (goal ≤ 10)`);
}

await main();
