/**
 * The differential setting for constrained zones, shared by the choices/regex test
 * (constrained-differential.test.ts) and the json_schema one
 * (test/forge/szcp/json-schema-differential.test.ts): random programs under the byte, GPT-2 and
 * Llama 3 tokenizers; each stream's "sampler" picks from its script among the tokens its
 * constraint state allows (masked sampling), now and then a token the state forbids (which
 * abandons the constraint: a path masked sampling never takes, but all three forms must agree
 * on it too). The reference interpreter one stream at a time, the TensorAutomaton (wasm) and
 * the HostAutomaton as batches must give identical traces; each finished constrained answer is
 * handed to the test's own check.
 */
import { expect } from "vitest";
import type { SzcpWorkflow, SzcpZone } from "../../../forge/szcp/types.js";
import type { ForgeTokenizer } from "../../../forge/tokenizer/types.js";
import { allowedTokens, compileForBackend, HostAutomaton, runScripted, TensorAutomaton, type TtfaProgram } from "../../../forge/ttfa/index.js";
import type { StreamTrace } from "../../../forge/run/types.js";
import { randomScript } from "./fixtures.js";
import { runBatch, scriptedTool, type ScriptPick } from "./harness.js";
import type { TestTokenizers } from "../../helpers/tokenizers.js";

const STREAMS = 5;
const MAX_STEPS = 60;

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
      return raw % program.vocabSize;
    }
    let list = allowed.get(state);
    if (!list) allowed.set(state, (list = allowedTokens(program.constraints, state)));
    return list[h % list.length]!;
  };
}

/** A finished constrained answer: the zone, and the text its tokens spelled before the end pattern. */
export interface ConstrainedAnswer {
  zone: SzcpZone & { constraint: NonNullable<SzcpZone["constraint"]> };
  body: string;
  /** The whole visit's text, for messages. */
  text: string;
}

/**
 * Every constrained visit of `trace` ended by its end pattern with only tokens its mask allowed
 * (no timeout, no forbidden pick): its text must end with that pattern; `check` gets the rest.
 */
function checkAnswers(trace: StreamTrace, tokenizer: ForgeTokenizer, forbiddenAt: (i: number) => boolean, workflow: SzcpWorkflow, check: (answer: ConstrainedAnswer) => void): number {
  if (workflow.config.escape !== null) return 0; // an escape may neutralise the end pattern: the zone then goes on free
  let checked = 0;
  let start = 0;
  const ends = new Set(trace.events.filter((e) => e.kind === "advance" || e.kind === "jump" || e.kind === "forced_exit").map((e) => e.step));
  const timeouts = new Set(trace.events.filter((e) => e.kind === "timeout").map((e) => e.step));
  for (let i = 0; i < trace.tokens.length; i++) {
    if (!ends.has(i)) continue;
    const zone = trace.pcs[i]!;
    const z = workflow.zones[zone]!;
    const generated: number[] = [];
    let spoiled = false;
    for (let k = start; k <= i; k++) {
      if (timeouts.has(k)) spoiled = true;
      if (!trace.forced[k]) {
        generated.push(trace.tokens[k]!);
        if (forbiddenAt(k)) spoiled = true;
      }
    }
    start = i + 1;
    if (!z.constraint || spoiled || generated.length === 0) continue;
    const text = new TextDecoder().decode(Uint8Array.from(generated.flatMap((t) => Array.from(tokenizer.tokenBytes(t)))));
    const end = (z.jump === null ? [z.advance] : [z.advance, workflow.config.controlToken]).find((e) => text.endsWith(e));
    expect(end, `visit of zone ${zone} ending at step ${i}: ${JSON.stringify(text)}`).toBeDefined();
    check({ zone: z as ConstrainedAnswer["zone"], body: text.slice(0, text.length - end!.length), text });
    checked++;
  }
  return checked;
}

export interface DifferentialCoverage {
  programs: number;
  constrainedZones: number;
  answersChecked: number;
  forbiddenPicks: number;
  byte: number;
  gpt2: number;
  llama3: number;
}

/** Runs `programs` random programs from `workflow(seed)` in the three forms, compares their traces, and checks every finished answer. */
export async function runConstrainedDifferential(
  tk: TestTokenizers,
  programs: number,
  workflow: (seed: number) => SzcpWorkflow,
  check: (answer: ConstrainedAnswer) => void,
): Promise<DifferentialCoverage> {
  const seen: DifferentialCoverage = { programs: 0, constrainedZones: 0, answersChecked: 0, forbiddenPicks: 0, byte: 0, gpt2: 0, llama3: 0 };
  for (let seed = 1; seed <= programs; seed++) {
    // Llama 3's 128 256 columns make its tables the costly ones: one program in six.
    const name = (["byte", "gpt2", "byte", "gpt2", "byte", "llama3"] as const)[seed % 6]!;
    const tokenizer = tk[name];
    const szcp = workflow(seed);
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
      seen.answersChecked += checkAnswers(reference, tokenizer, (i) => forbidden[2]!.has(`${b}:${i}`), szcp, check);
    }
    seen.forbiddenPicks += forbidden[2]!.size;
    seen.constrainedZones += szcp.zones.filter((z) => z.constraint).length;
    seen.programs++;
    seen[name]++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return seen;
}
