/**
 * The differential test for constrained zones (docs/automaton.md#constrained-zones): ≥ 500
 * random programs with `choices` and `regex` zones, under the byte, GPT-2 and Llama 3
 * tokenizers. Each stream's "sampler" picks from its script among the tokens its constraint
 * state allows (masked sampling), now and then a token the state forbids (which abandons the
 * constraint: a path masked sampling never takes, but all three forms must agree on it too).
 * The reference interpreter one stream at a time, the TensorAutomaton (wasm) and the
 * HostAutomaton as batches must give identical traces; and every constrained zone visit the
 * reference ends by its end pattern, with only allowed tokens, spells a choice or a regex
 * match followed by that pattern.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import type { SzcpWorkflow } from "../../../forge/szcp/types.js";
import type { ForgeTokenizer } from "../../../forge/tokenizer/types.js";
import { allowedTokens, compileForBackend, HostAutomaton, runScripted, TensorAutomaton, type TtfaProgram } from "../../../forge/ttfa/index.js";
import type { StreamTrace } from "../../../forge/run/types.js";
import { randomScript, randomWorkflow, rng } from "./fixtures.js";
import { runBatch, scriptedTool, type ScriptPick } from "./harness.js";
import { loadTestTokenizers, type TestTokenizers } from "../../helpers/tokenizers.js";

const PROGRAMS = 510;
const STREAMS = 5;
const MAX_STEPS = 60;

const CHOICES = [["yes", "no", "unsure"], ["42", "4", "7 apples"], ["é", "café", "東京"], [" A", " B", " C", " D"], ["maybe so", "maybe not"]];
const REGEXES = ["\\d{1,3}", "(yes|no)!?", "[a-c]+", "[0-9]+(\\.[0-9]{1,2})?", "(ab|cd)*x", "[A-Z][a-z]{0,4}", "é+|ü"];

/** randomWorkflow with a constraint on about half of the zones that are no feed zones. */
export function randomConstrainedWorkflow(seed: number): SzcpWorkflow {
  const w = randomWorkflow(seed);
  const r = rng(seed * 7919);
  let constrained = 0;
  w.zones.forEach((z) => {
    if (z.feed !== null || !r.chance(0.55)) return;
    z.constraint = r.chance(0.5) ? { kind: "choices", choices: r.pick(CHOICES) } : { kind: "regex", pattern: r.pick(REGEXES) };
    if (z.maxGen < 8 && r.chance(0.7)) z.maxGen = 8 + r.int(8); // room to finish the answer most of the time
    constrained++;
  });
  if (constrained === 0 && w.zones[0]!.feed === null) w.zones[0]!.constraint = { kind: "choices", choices: ["yes", "no"] };
  return w;
}

function comparable(t: StreamTrace) {
  return { tokens: Array.from(t.tokens), pcs: Array.from(t.pcs), forced: Array.from(t.forced), events: t.events, status: t.status };
}

/** Masked sampling from a script: the script's token when free, else one the state allows (3 %: one it forbids). */
function maskedPick(program: TtfaProgram, scripts: Int32Array[], forbidden: Set<string>): ScriptPick {
  const allowed = new Map<number, Int32Array>();
  return (slot, position, state) => {
    const raw = scripts[slot]![position] ?? 0;
    if (state === 0) return raw;
    const h = (Math.imul(raw + 1, 2654435761) ^ Math.imul(position + 1, 40503)) >>> 0;
    if (h % 100 < 3) {
      forbidden.add(`${slot}:${position}`);
      return 0 + (raw % program.vocabSize);
    }
    let list = allowed.get(state);
    if (!list) allowed.set(state, (list = allowedTokens(program.constraints, state)));
    return list[h % list.length]!;
  };
}

/** Every constrained visit ended by its end pattern, all its tokens picked from the mask, spells constraint · end. */
function checkAnswers(program: TtfaProgram, trace: StreamTrace, tokenizer: ForgeTokenizer, forbiddenPositions: (i: number) => boolean, workflow: SzcpWorkflow): number {
  if (workflow.config.escape !== null) return 0; // an escape may neutralise the end pattern: the zone then goes on free
  let checked = 0;
  let start = 0;
  const moves = new Map<number, string>();
  for (const e of trace.events) if (e.kind === "advance" || e.kind === "jump" || e.kind === "forced_exit") moves.set(e.step, e.kind);
  const timeouts = new Set(trace.events.filter((e) => e.kind === "timeout").map((e) => e.step));
  for (let i = 0; i < trace.tokens.length; i++) {
    if (!moves.has(i)) continue;
    const zone = trace.pcs[i]!;
    const c = workflow.zones[zone]!.constraint;
    let sawTimeout = false;
    let sawForbidden = false;
    const generated: number[] = [];
    for (let k = start; k <= i; k++) {
      if (timeouts.has(k)) sawTimeout = true;
      if (!trace.forced[k]) {
        generated.push(trace.tokens[k]!);
        if (forbiddenPositions(k)) sawForbidden = true;
      }
    }
    start = i + 1;
    if (!c || sawTimeout || sawForbidden || generated.length === 0) continue;
    const text = new TextDecoder().decode(Uint8Array.from(generated.flatMap((t) => Array.from(tokenizer.tokenBytes(t)))));
    const z = workflow.zones[zone]!;
    const ends = z.jump === null ? [z.advance] : [z.advance, workflow.config.controlToken];
    const end = ends.find((e) => text.endsWith(e));
    expect(end, `visit of zone ${zone} ending at step ${i}: ${JSON.stringify(text)}`).toBeDefined();
    const body = text.slice(0, text.length - end!.length);
    if (c.kind === "choices") expect(c.choices, JSON.stringify(text)).toContain(body);
    else expect(body, JSON.stringify(text)).toMatch(new RegExp(`^(?:${c.pattern})$`, "u"));
    checked++;
  }
  return checked;
}

describe("constrained zones: reference ≡ host ≡ tensor", () => {
  let tk: TestTokenizers;
  beforeAll(async () => {
    await tf.setBackend("wasm");
    tk = await loadTestTokenizers();
  }, 60_000);

  it(`gives identical traces on ${PROGRAMS} random constrained programs under three tokenizers, and the answers obey the constraints`, async () => {
    const seen = { programs: 0, constrainedZones: 0, answersChecked: 0, forbiddenPicks: 0, byte: 0, gpt2: 0, llama3: 0 };
    for (let seed = 1; seed <= PROGRAMS; seed++) {
      // Llama 3's 128 256 columns make its tables the costly ones: one program in six.
      const name = (["byte", "gpt2", "byte", "gpt2", "byte", "llama3"] as const)[seed % 6]!;
      const tokenizer = tk[name];
      const szcp = randomConstrainedWorkflow(seed);
      const program = compileForBackend(szcp, tokenizer);
      const patterns = program.trigger.patterns;
      const scripts = Array.from({ length: STREAMS }, (_, b) => randomScript(seed * 100 + b, MAX_STEPS, tokenizer, patterns));
      const tool = scriptedTool(patterns.map((p) => tokenizer.encode(p)));
      const forbidden = [new Set<string>(), new Set<string>(), new Set<string>()];
      const automaton = new TensorAutomaton(program, STREAMS);
      let tensor: StreamTrace[];
      try {
        tensor = runBatch(automaton, scripts, MAX_STEPS, tool, maskedPick(program, scripts, forbidden[0]!));
      } finally {
        automaton.dispose();
      }
      const host = runBatch(new HostAutomaton(program, STREAMS), scripts, MAX_STEPS, tool, maskedPick(program, scripts, forbidden[1]!));
      const pick = maskedPick(program, scripts, forbidden[2]!);
      for (let b = 0; b < STREAMS; b++) {
        const reference = runScripted(program, (i, state) => pick(b, i, state.constraintState), MAX_STEPS, { instance: b, tool });
        const ctx = `program seed ${seed} (${tokenizer.identity}), stream ${b}`;
        expect(comparable(tensor[b]!), `${ctx}, tensor automaton`).toEqual(comparable(reference));
        expect(comparable(host[b]!), `${ctx}, host automaton`).toEqual(comparable(reference));
        seen.answersChecked += checkAnswers(program, reference, tokenizer, (i) => forbidden[2]!.has(`${b}:${i}`), szcp);
      }
      seen.forbiddenPicks += forbidden[2]!.size;
      seen.constrainedZones += szcp.zones.filter((z) => z.constraint).length;
      seen.programs++;
      seen[name]++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(seen.programs).toBeGreaterThanOrEqual(500);
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(0);
    expect(seen.answersChecked).toBeGreaterThan(200);
    console.log("constrained differential coverage:", JSON.stringify(seen));
  }, 1_500_000); // ≈ 70 s of CPU; at load 30 on the shared 2 cores it took 13 min of wall
});
