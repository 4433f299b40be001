/**
 * Choice scores against brute force: a deterministic stand-in for the model's logits (a
 * function of the prefix, so the test can recompute every probability), the GPT-2 tokenizer
 * (choices split into several tokens several ways), masked sampling through the reference
 * interpreter, and the scorer fed the same records and logits rows the engine would give it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ChoiceScorer } from "../../../forge/ttfa/choices.js";
import { maskLogitsInPlace } from "../../../forge/ttfa/mask.js";
import { compileForBackend, ReferenceInterpreter, TtfaEvent, type StepRecord } from "../../../forge/ttfa/index.js";
import type { ForgeTokenizer } from "../../../forge/tokenizer/types.js";
import { loadGpt2Tokenizer } from "../../../forge/tokenizer/index.js";
import { rng, workflow, zone } from "./fixtures.js";

let gpt2: ForgeTokenizer;
beforeAll(async () => {
  gpt2 = await loadGpt2Tokenizer();
}, 60_000);

/** Logits for the next token after `prefix`: pseudo-random but fixed per (prefix hash, token), biased towards the choices' pieces. */
function logitsAfter(prefix: number[], vocab: number, favoured: Set<number>): Float32Array {
  let h = 2166136261;
  for (const t of prefix) h = Math.imul(h ^ t, 16777619) >>> 0;
  const row = new Float32Array(vocab);
  for (let v = 0; v < vocab; v++) row[v] = Math.sin(v * 12.9898 + h * 1e-6) * 2 + (favoured.has(v) ? 6 + ((h >>> (v % 13)) & 3) : 0);
  return row;
}

function softmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return Float64Array.from(row, (x) => Math.exp(x - max) / sum);
}

describe("ChoiceScorer", () => {
  it("records the exact probability of the path walked and the allowed first-token mass of every other choice", () => {
    const choices = ["yes", "no", "unsure", "yes indeed"];
    const w = workflow([
      zone({ text: "[Prompt] Is it? [Answer]", advance: "[Answer]", next: 1 }),
      zone({ text: "", advance: "[EOS]", zone: 1, next: 0, maxGen: 20, constraint: { kind: "choices", choices } }),
    ]);
    const program = compileForBackend(w, gpt2);
    const V = gpt2.vocabSize;
    const enc = new TextEncoder();
    // Tokens that spell pieces of the choices and the end pattern: a model that likes them.
    const favoured = new Set<number>();
    for (let t = 0; t < V; t++) {
      const b = gpt2.tokenBytes(t);
      if (b.length > 0 && choices.some((c) => [c + "[EOS]"].some((s) => Buffer.from(enc.encode(s)).includes(Buffer.from(b))))) favoured.add(t);
    }
    const scorer = new ChoiceScorer(program, (t) => gpt2.tokenBytes(t));
    const interpreter = new ReferenceInterpreter(program);
    const r = rng(11);
    const history: number[] = [];
    const steps: Array<{ rec: StepRecord; row: Float32Array }> = [];
    for (let i = 0; i < 160 && !interpreter.done; i++) {
      const row = logitsAfter(history, V, favoured);
      const masked = row.slice();
      maskLogitsInPlace(masked, V, [interpreter.constraintState], program.constraints);
      const p = softmax(masked);
      let u = r.next();
      let sampled = 0;
      for (let v = 0; v < V; v++) if ((u -= p[v]!) <= 0) { sampled = v; break; }
      const before = interpreter.constraintState;
      const rec = interpreter.step(sampled);
      scorer.onStep({ logits: { shape: [1, V], dataSync: () => row }, rows: Int32Array.of(0), instance: Int32Array.of(0), records: [[rec]], constraintStates: [before], positions: [i] });
      steps.push({ rec, row });
      history.push(rec.token);
    }
    expect(scorer.records.length).toBeGreaterThanOrEqual(5);

    // Brute force, visit by visit, from the steps themselves.
    let visitStart = -1;
    let recordIndex = 0;
    const visits = new Map<number, number>();
    steps.forEach(({ rec }, i) => {
      if (rec.pc === 1 && !rec.forced && visitStart < 0) visitStart = i;
      if (rec.event & (TtfaEvent.ADVANCE | TtfaEvent.JUMP)) {
        const visit = visits.get(rec.pc) ?? 0;
        visits.set(rec.pc, visit + 1);
        if (rec.pc !== 1 || visitStart < 0) return;
        const got = scorer.records[recordIndex++]!;
        expect(got.zoneId).toBe(1);
        expect(got.visit).toBe(visit);
        expect(got.step).toBe(visitStart);
        const generated = steps.slice(visitStart, i + 1).filter((s) => !s.rec.forced);
        const text = new TextDecoder().decode(Uint8Array.from(generated.flatMap((s) => Array.from(gpt2.tokenBytes(s.rec.token)))));
        const expectedChoice = choices.indexOf(text.replace(/\[EOS\]$/, ""));
        expect(got.choice).toBe(expectedChoice < 0 ? null : expectedChoice);
        // First-token mass: every token of the whole vocabulary whose bytes start choice·[EOS].
        const p0 = softmax(generated[0]!.row);
        choices.forEach((c, k) => {
          const target = enc.encode(c + "[EOS]");
          let mass = 0;
          for (let t = 0; t < V; t++) {
            const b = gpt2.tokenBytes(t);
            if (b.length > 0 && b.length <= target.length && b.every((x, j) => x === target[j])) mass += p0[t]!;
          }
          if (k === got.choice) {
            // The walked path: Π p(token) up to the token that covers the choice's last byte.
            let logp = 0;
            let bytes = 0;
            for (const s of generated) {
              logp += Math.log(softmax(s.row)[s.rec.token]!);
              bytes += gpt2.tokenBytes(s.rec.token).length;
              if (bytes >= enc.encode(c).length) break;
            }
            expect(got.basis[k]).toBe("path");
            expect(got.probabilities[k]).toBeCloseTo(Math.exp(logp), 9);
            expect(got.probabilities[k]).toBeLessThanOrEqual(mass + 1e-12);
          } else {
            expect(got.basis[k]).toBe("first_token");
            expect(got.probabilities[k]).toBeCloseTo(mass, 9);
          }
        });
        visitStart = -1;
      }
    });
    expect(recordIndex).toBe(scorer.records.length);
    expect(scorer.records.some((x) => x.choice !== null)).toBe(true);
  }, 600_000); // ≈ 30 s of CPU (GPT-2's vocabulary walked per step); the shared machine stretches it

  it("starts a refilled slot afresh when its new stream replays the same instance (visits count from 0 again)", () => {
    const choices = ["yes", "no"];
    const w = workflow([
      zone({ text: "[Prompt] Is it? [Answer]", advance: "[Answer]", next: 1 }),
      zone({ text: "", advance: "[EOS]", zone: 1, next: 0, maxGen: 20, constraint: { kind: "choices", choices } }),
    ]);
    const program = compileForBackend(w, gpt2);
    const V = gpt2.vocabSize;
    const scorer = new ChoiceScorer(program, (t) => gpt2.tokenBytes(t));
    // Two streams of instance 0, one after the other in slot 0 (a replay batch refilling its slot).
    for (const stream of [0, 1]) {
      const interpreter = new ReferenceInterpreter(program);
      for (let i = 0; i < 40 && scorer.records.filter((r) => r.visit === 0).length <= stream; i++) {
        const row = new Float32Array(V);
        maskLogitsInPlace(row, V, [interpreter.constraintState], program.constraints);
        const before = interpreter.constraintState;
        const rec = interpreter.step(row.indexOf(Math.max(...row)));
        scorer.onStep({ logits: { shape: [1, V], dataSync: () => row }, rows: Int32Array.of(0), instance: Int32Array.of(0), stream: [stream], records: [[rec]], constraintStates: [before], positions: [i] });
      }
    }
    // Each stream's first visit of the choices zone is visit 0 (without the stream id the second would be visit 1).
    expect(scorer.records.filter((r) => r.visit === 0).map((r) => r.step)).toHaveLength(2);
  });
});
