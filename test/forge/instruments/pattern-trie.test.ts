/**
 * Exact decision probabilities (request `logprobs: { decisions: "exact" }`) on a real
 * multi-token vocabulary: GPT-2's BPE cut to 8 192 tokens, where "[Jump]" has many
 * tokenizations ("[", "J", "ump", "]", " [", …). A random Llama model (grouped-query attention)
 * with planted bigrams along the pattern's pieces, so that multi-token paths carry real mass.
 *
 * Brute force, independent of the trie and of the probe: the trigger automaton re-done on
 * byte strings (the longest suffix that is a prefix of a pattern; a match resets it), every
 * token sequence that spells the pattern enumerated over the whole vocabulary, each
 * conditional from a teacher-forced full forward of the same model over the trace's tokens
 * plus the path. Summed, it must equal pJump within 1e-5 — on the tfjs engine and on ONNX.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { loadGpt2Tokenizer8k } from "../../../bench/ttfa/gpt2-8k.js";
import { buildPatternTrie, MAX_PATTERN_TRIE_NODES } from "../../../forge/instruments/pattern-trie.js";
import { patternProgress } from "../../../forge/instruments/hazard.js";
import { seedExample } from "../engine/helpers.js";

const PATTERN = "[Jump]";
const OPTIONS = { batchSize: 3, instances: 3, seed: 4, logprobs: { decisions: "exact" as const } };

let tokenizer: forge.HfTokenizer;
let model: forge.DecoderModel;
let program: forge.TtfaProgram;
const runs: Record<"tfjs" | "onnx", forge.Run> = {} as never;

/**
 * The model: random weights (std 0.1) plus planted bigrams on hidden channels of their own —
 * "[" → "J" → "ump" | "u" | "um" → … → "]" — and a constant channel that favours "[" and " [",
 * so that several tokenizations of "[Jump]" carry real mass while every logit still depends on
 * the context through the random layers.
 */
function plantedModel(tok: forge.HfTokenizer): forge.DecoderModel {
  const config = forge.smallConfig("llama", { vocabSize: tok.vocabSize, hiddenSize: 32, layers: 2, heads: 2, kvHeads: 1, intermediateSize: 64, maxPositions: 1024 });
  const m = forge.DecoderModel.random(config, 7, { std: 0.1 });
  const id = (text: string) => {
    for (let t = 0; t < tok.vocabSize; t++) if (bytesOf(t) === text) return t;
    throw new Error(`no token ${JSON.stringify(text)}`);
  };
  const bigrams: Array<[string, Array<[string, number]>]> = [
    ["[", [["J", 2.2]]],
    ["J", [["ump", 2.0], ["u", 1.8], ["um", 1.8]]],
    ["u", [["mp", 2.2], ["m", 1.9]]],
    ["um", [["p", 2.2]]],
    ["m", [["p", 2.2]]],
    ["ump", [["]", 2.2]]],
    ["mp", [["]", 2.2]]],
    ["p", [["]", 2.2]]],
  ];
  const emb = m.weights.tokenEmbedding.arraySync();
  const head = m.weights.head.arraySync();
  for (const row of emb) row[0] = 0.3;
  for (const t of [id("["), id(" [")]) head[0]![t] = 3;
  bigrams.forEach(([from, targets], k) => {
    for (const row of emb) row[k + 1] = 0;
    emb[id(from)]![k + 1] = 6;
    for (const [to, w] of targets) head[k + 1]![id(to)] = w;
  });
  const w = m.weights as { tokenEmbedding: tf.Tensor2D; head: tf.Tensor2D };
  w.tokenEmbedding.dispose();
  w.head.dispose();
  w.tokenEmbedding = tf.tensor2d(emb);
  w.head = tf.tensor2d(head);
  return m;
}

beforeAll(async () => {
  await forge.initBackend("wasm");
  tokenizer = await loadGpt2Tokenizer8k();
  model = plantedModel(tokenizer);
  const { config, factory } = seedExample(8);
  const workflow = factory();
  program = forge.compileForBackend(workflow, tokenizer);
  for (const engine of ["tfjs", "onnx"] as const) {
    const backend = await forge.makeBackend(model, tokenizer, { engine });
    runs[engine] = (await forge.makeSession(backend).request(config, factory(), OPTIONS)).run;
  }
}, 600_000);

/** The trigger automaton on byte strings: state = the longest suffix that is a prefix of some pattern. */
class ByteTrigger {
  constructor(readonly patterns: string[]) {}
  /** Feeds `bytes` from `state`: the first pattern matched (or −1) and the state after (a match resets to ""). */
  feed(state: string, bytes: string): { state: string; match: number } {
    let s = state;
    let match = -1;
    for (const ch of bytes) {
      s += ch;
      const m = this.patterns.findIndex((p) => s.endsWith(p));
      if (m >= 0) {
        if (match < 0) match = m;
        s = "";
        continue;
      }
      while (s.length > 0 && !this.patterns.some((p) => p.startsWith(s))) s = s.slice(1);
    }
    return { state: s, match };
  }
  progress(state: string): number {
    return state.length > 0 && PATTERN.startsWith(state) ? state.length : 0;
  }
}

const bytesOf = (t: number) => Buffer.from(tokenizer.tokenBytes(t)).toString("latin1");

/** The trigger state before trace index `step`, re-done on bytes (timeouts reset it, as the automaton does). */
function stateBefore(trigger: ByteTrigger, stream: forge.StreamTrace, step: number): string {
  const resets = new Set(stream.events.filter((e) => e.kind === "timeout").map((e) => e.step));
  let s = "";
  for (let i = 0; i < step; i++) {
    if (resets.has(i)) s = "";
    s = trigger.feed(s, bytesOf(stream.tokens[i]!)).state;
  }
  return s;
}

/**
 * Σ over the pattern's tokenizations from `state` of Π p(token | context), by teacher-forced
 * full forwards. A branch whose prefix has probability below PRUNE is left out: it can add at
 * most that much (the sequences are prefix-free), so the sum is exact to PRUNE · (branches left out).
 */
const PRUNE = 1e-9;
async function bruteForce(trigger: ByteTrigger, context: number[], state: string, control: number, reach = 1): Promise<{ p: number; paths: number; pruned: number }> {
  await new Promise<void>((resolve) => setImmediate(resolve)); // long sync stretches starve vitest's worker channel
  const row = tf.tidy(() => tf.softmax(model.forward([context]).squeeze([0]).slice([context.length - 1, 0], [1, -1]).squeeze([0])).dataSync()) as Float32Array;
  let p = 0;
  let paths = 0;
  let pruned = 0;
  const here = trigger.progress(state);
  for (let t = 0; t < tokenizer.vocabSize; t++) {
    const { state: after, match } = trigger.feed(state, bytesOf(t));
    if (match === control) {
      p += row[t]!;
      paths++;
    } else if (match < 0 && trigger.progress(after) > here) {
      if (reach * row[t]! < PRUNE) {
        pruned++;
        continue;
      }
      const deeper = await bruteForce(trigger, [...context, t], after, control, reach * row[t]!);
      p += row[t]! * deeper.p;
      paths += deeper.paths;
      pruned += deeper.pruned;
    }
  }
  return { p, paths, pruned };
}

describe("exact pJump on GPT-2 8k", { timeout: 600_000 }, () => {
  it("the trie holds every tokenization the trigger table accepts, and refuses to grow past its bound", () => {
    const path = patternProgress(program.trigger, program.control);
    const trie = buildPatternTrie(program.trigger, path, 0, tokenizer.vocabSize)!;
    expect(trie).not.toBeNull();
    // Leaves: each path's bytes, read from the root, end with the pattern; several tokenizations exist.
    let leaves = 0;
    const walk = (node: number, text: string) => {
      for (let c = trie.childStart[node]!; c < trie.childStart[node + 1]!; c++) {
        const t = text + bytesOf(trie.childToken[c]!);
        if (trie.childNode[c]! < 0) {
          expect(t.includes(PATTERN), JSON.stringify(t)).toBe(true);
          leaves++;
        } else walk(trie.childNode[c]!, t);
      }
    };
    walk(0, "");
    console.log(`"[Jump]" on GPT-2 8k from the root: ${trie.size} internal nodes, ${leaves} tokenizations (bound ${MAX_PATTERN_TRIE_NODES})`);
    expect(leaves).toBeGreaterThan(3);
    expect(trie.size).toBeGreaterThan(2);
    expect(buildPatternTrie(program.trigger, path, 0, tokenizer.vocabSize, 2)).toBeNull();
  });

  for (const engine of ["tfjs", "onnx"] as const) {
    it(`${engine}: pJump equals brute-force enumeration of the tokenizations (teacher-forced) within 1e-5`, async () => {
      const run = runs[engine];
      const trigger = new ByteTrigger(program.trigger.patterns);
      const decisions = run.decisions!;
      expect(decisions.length).toBeGreaterThan(2);
      // Every visit got its probe: the observer's visit starts are the records' steps.
      expect(decisions.every((d) => d.exact)).toBe(true);
      let maxError = 0;
      let largest = 0;
      let checked = 0;
      let prunedMass = 0;
      for (const d of decisions.slice(0, 3)) {
        expect(d.exact, `instance ${d.instance} step ${d.step}`).toBe(true);
        const stream = run.streams.find((s) => s.instance === d.instance)!;
        const context = Array.from(stream.tokens.slice(0, d.step));
        const { p, paths, pruned } = await bruteForce(trigger, context, stateBefore(trigger, stream, d.step), program.control);
        expect(paths).toBeGreaterThan(1);
        prunedMass = Math.max(prunedMass, pruned * PRUNE);
        maxError = Math.max(maxError, Math.abs(d.pJump - p));
        largest = Math.max(largest, p);
        expect(Math.abs(d.pJump - p), `instance ${d.instance} step ${d.step}: ${d.pJump} vs ${p}`).toBeLessThan(1e-5);
        checked++;
      }
      console.log(`${engine}: exact pJump vs brute force over ${checked} visits: max |error| = ${maxError.toExponential(2)} (largest pJump ${largest.toFixed(4)}; branches below ${PRUNE} left out: at most ${prunedMass.toExponential(1)})`);
      // The check means something only if the pattern carries real mass somewhere.
      expect(largest).toBeGreaterThan(0.05);
      expect(prunedMass).toBeLessThan(1e-6);
    });
  }

  it("both engines give the same numbers, and exact decisions do not change what is sampled", async () => {
    const [a, b] = [runs.tfjs.decisions!, runs.onnx.decisions!];
    expect(b.length).toBe(a.length);
    let most = 0;
    a.forEach((d, k) => (most = Math.max(most, Math.abs(d.pJump - b[k]!.pJump))));
    console.log(`tfjs vs onnx exact pJump: max |difference| = ${most.toExponential(2)}`);
    expect(most).toBeLessThan(1e-5);
    const backend = await forge.makeBackend(model, tokenizer, { engine: "onnx" });
    const { config, factory } = seedExample(8);
    const plain = (await forge.makeSession(backend).request(config, factory(), { ...OPTIONS, logprobs: true })).run;
    expect(plain.streams.map((s) => Array.from(s.tokens))).toEqual(runs.onnx.streams.map((s) => Array.from(s.tokens)));
    expect(plain.decisions!.every((d) => d.exact === false)).toBe(true);
  });
});
