/**
 * Decisions at jump sites on a real random-weight model: pJump equals brute force — along the
 * walked steps, the sum over the whole vocabulary of a teacher-forced pass's probabilities of the
 * bytes that move along "[Jump]"; jumps forced by a counterfactual replay are recorded as
 * taken, with the walked path's exact probability, and agree with the run's statistics. With
 * `decisions: "exact"` pJump is the teacher-forced chain of the pattern's bytes (the multi-token
 * case is pattern-trie.test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { randomByteModel, seedExample } from "../engine/helpers.js";
import { deriveDecisions } from "../../../forge/instruments/decisions.js";

let model: forge.DecoderModel;
let backend: forge.ForgeBackend;
let run: forge.Run;

beforeAll(async () => {
  await forge.initBackend("wasm");
  model = randomByteModel(11);
  backend = await forge.makeBackend(model, new forge.ByteTokenizer());
  const { config, factory } = seedExample(6);
  run = (await forge.makeSession(backend).request(config, factory(), { batchSize: 3, seed: 2, logprobs: true })).run;
}, 300_000);

const PATTERN = "[Jump]";
/** How far into "[Jump]" a text's end stands (the byte tokenizer's trigger state along the pattern). */
function progress(text: string): number {
  for (let k = Math.min(PATTERN.length, text.length); k > 0; k--) if (text.endsWith(PATTERN.slice(0, k))) return k;
  return 0;
}

describe("run.decisions", { timeout: 300_000 }, () => {
  it("pJump is the brute-force mass of the tokens that move along the pattern, step by step along the walk", () => {
    expect(run.decisions!.length).toBeGreaterThan(0);
    let maxError = 0;
    for (const d of run.decisions!.slice(0, 6)) {
      const stream = run.streams.find((s) => s.instance === d.instance)!;
      // Walk the visit as the engine did: at each step the teacher-forced mass of the bytes that
      // move along "[Jump]", continuing while the byte taken did (and the pattern is not complete).
      let want = 1;
      for (let j = d.step; j < stream.tokens.length && !stream.forced[j]; j++) {
        const before = Array.from(stream.tokens.slice(0, j));
        const row = tf.tidy(() => tf.softmax(model.forward([before]).squeeze([0]).slice([j - 1, 0], [1, -1]).squeeze([0])).arraySync()) as number[];
        const text = Buffer.from(Uint8Array.from(before)).toString("latin1");
        const here = progress(text);
        const moves = (t: number) => (text + String.fromCharCode(t)).endsWith(PATTERN) || progress(text + String.fromCharCode(t)) > here;
        let mass = 0;
        for (let t = 0; t < 256; t++) if (moves(t)) mass += row[t]!;
        want *= mass;
        const taken = stream.tokens[j]!;
        if (!moves(taken) || (text + String.fromCharCode(taken)).endsWith(PATTERN)) break;
      }
      expect(Math.abs(d.pJump - want), `instance ${d.instance} step ${d.step}`).toBeLessThan(1e-4);
      maxError = Math.max(maxError, Math.abs(d.pJump - want));
      expect(d.visit).toBeGreaterThanOrEqual(0);
    }
    console.log(`pJump vs brute force over the vocabulary: max |error| = ${maxError.toExponential(2)}`);
  });

  it("forced jumps (a replay) are taken decisions with their path's probability, and match the statistics", async () => {
    const site = run.decisions![0]!;
    const replayed = await forge.makeSession(backend).replay(run, { instance: site.instance, step: site.step, force: PATTERN }, { logprobs: true });
    const decisions = replayed.decisions!;
    const forced = decisions.find((d) => d.step === site.step)!;
    // Forced along the whole pattern, pJump is the pattern's probability from that step: at most the original's first factor.
    expect(forced.pJump).toBeGreaterThan(0);
    expect(forced.pJump).toBeLessThanOrEqual(run.streams.find((s) => s.instance === site.instance)!.logprobs!.hazard[site.step]! + 1e-6);
    expect(["jump", "ignored_jump"]).toContain(forced.outcome);
    if (forced.outcome === "jump") {
      expect(forced.pPath).toBeGreaterThan(0);
      expect(forced.pPath).toBeLessThanOrEqual(forced.pJump * (1 + 1e-5)); // equal on a byte vocabulary, up to float error
    }
    const takenByStats = replayed.statistics.jumpSites.reduce((n, s) => n + s.taken, 0);
    expect(decisions.filter((d) => d.taken)).toHaveLength(takenByStats);
  });

  it("exact decisions hold under continuous batching and multi-token feeding, on both engines (greedy: the same traces)", async () => {
    for (const engine of ["tfjs", "onnx"] as const) {
      const b = await forge.makeBackend(model, new forge.ByteTokenizer(), { engine });
      const { config, factory } = seedExample(6);
      const options = { batchSize: 3, instances: 5, seed: 2, greedy: true, automaton: "host", logprobs: { decisions: "exact" } } as const;
      const plain = (await forge.makeSession(b).request(config, factory(), options)).run;
      const chunked = (await forge.makeSession(b).request(config, factory(), { ...options, feedChunk: 4 })).run;
      expect(chunked.streams.map((x) => Array.from(x.tokens))).toEqual(plain.streams.map((x) => Array.from(x.tokens)));
      expect(plain.decisions!.length).toBeGreaterThan(5);
      expect(chunked.decisions!.length).toBe(plain.decisions!.length);
      plain.decisions!.forEach((d, k) => {
        const c = chunked.decisions![k]!;
        expect([d.exact, c.exact]).toEqual([true, true]);
        expect(Math.abs(c.pJump - d.pJump) / d.pJump, `${engine}: instance ${d.instance} step ${d.step}`).toBeLessThan(1e-5);
      });
    }
  });

  it("a visit without an exact value (trie over its bound, no probe) keeps the estimate, marked exact: false", () => {
    const estimate = deriveDecisions(run);
    const fellBack = deriveDecisions(run, () => false, () => null);
    expect(fellBack.map((d) => [d.pJump, d.exact])).toEqual(estimate.map((d) => [d.pJump, false]));
    const exact = deriveDecisions(run, () => false, (stream, step) => (stream.instance === fellBack[0]!.instance && step === fellBack[0]!.step ? 0.25 : undefined));
    expect([exact[0]!.pJump, exact[0]!.exact]).toEqual([0.25, true]);
    expect(exact.slice(1).every((d) => d.exact === false)).toBe(true);
  });

  it('decisions: "exact" — on a byte vocabulary pJump is the chain of the pattern\'s remaining bytes, teacher-forced; the trace is unchanged', async () => {
    const { config, factory } = seedExample(6);
    const exact = (await forge.makeSession(backend).request(config, factory(), { batchSize: 3, seed: 2, logprobs: { decisions: "exact" } })).run;
    expect(exact.streams.map((s) => Array.from(s.tokens))).toEqual(run.streams.map((s) => Array.from(s.tokens)));
    expect(exact.decisions!.length).toBe(run.decisions!.length);
    let maxError = 0;
    for (const d of exact.decisions!.slice(0, 6)) {
      expect(d.exact).toBe(true);
      const stream = exact.streams.find((s) => s.instance === d.instance)!;
      const context = Array.from(stream.tokens.slice(0, d.step));
      const from = progress(Buffer.from(Uint8Array.from(context)).toString("latin1"));
      const rest = Array.from(Buffer.from(PATTERN.slice(from)));
      const probs = tf.tidy(() => tf.softmax(model.forward([[...context, ...rest.slice(0, -1)]]).squeeze([0])).arraySync()) as number[][];
      let want = 1;
      rest.forEach((byte, k) => (want *= probs[context.length - 1 + k]![byte]!));
      maxError = Math.max(maxError, Math.abs(d.pJump - want));
      expect(Math.abs(d.pJump - want), `instance ${d.instance} step ${d.step}`).toBeLessThan(1e-6);
      expect(Math.abs(d.pJump - want) / want, `instance ${d.instance} step ${d.step}: relative`).toBeLessThan(1e-4); // a random byte model's pJump is ~257^-6
    }
    console.log(`exact pJump (byte vocabulary) vs the teacher-forced chain: max |error| = ${maxError.toExponential(2)}`);
    // A visit that spelled the whole pattern: the walked-path estimate is exact there too.
    const walked = run.decisions!.filter((d) => d.outcome === "jump" || d.outcome === "ignored_jump");
    for (const d of walked) {
      const e = exact.decisions!.find((x) => x.instance === d.instance && x.step === d.step)!;
      expect(e.pJump).toBeCloseTo(d.pJump, 6);
    }
    await expect(forge.makeSession(backend).request(config, factory(), { batchSize: 1, logprobs: { decisions: "sure" as never } })).rejects.toThrow(/logprobs\.decisions/);
  });
});
