/**
 * json_schema zones in the differential setting of test/forge/ttfa/constrained-differential
 * (reference interpreter ≡ HostAutomaton ≡ TensorAutomaton on wasm), on random programs whose
 * constrained zones carry JSON schemas, under the byte, GPT-2 and Llama 3 tokenizers. Each
 * stream picks from its script among the tokens its constraint state allows (now and then one
 * it forbids, which abandons the constraint). Every constrained visit the reference finishes
 * with allowed tokens must be `JSON.parse`-able and valid under its schema by ajv.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { Ajv, type ValidateFunction } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import type { SzcpWorkflow } from "../../../forge/szcp/types.js";
import type { ForgeTokenizer } from "../../../forge/tokenizer/types.js";
import type { StreamTrace } from "../../../forge/run/types.js";
import { compileJsonSchema } from "../../../forge/szcp/json-schema.js";
import { allowedTokens, compileForBackend, HostAutomaton, runScripted, TensorAutomaton, type TtfaProgram } from "../../../forge/ttfa/index.js";
import { randomScript, randomWorkflow, rng } from "../ttfa/fixtures.js";
import { runBatch, scriptedTool, type ScriptPick } from "../ttfa/harness.js";
import { loadTestTokenizers, type TestTokenizers } from "../../helpers/tokenizers.js";

const PROGRAMS = 72;
const STREAMS = 5;
const MAX_STEPS = 60;

/** Small schemas (their token tables fit Llama 3's 128k columns together). */
const SCHEMAS: object[] = [
  { type: "boolean" },
  { enum: ["yes", "no", 1, null, [true]] },
  { type: "object", properties: { ok: { type: "boolean" }, n: { type: "integer", minimum: -5, maximum: 20 } }, required: ["ok"] },
  { type: "array", items: { type: "integer", minimum: 0, maximum: 9 }, maxItems: 3 },
  { type: "string", maxLength: 4 },
  { anyOf: [{ type: "null" }, { type: "object", properties: { s: { type: "string", maxLength: 2 } } }] },
];
const COMPILED = SCHEMAS.map((s) => compileJsonSchema(JSON.stringify(s)));
const ajv = new Ajv({ strict: false });
const VALIDATORS = new Map<string, ValidateFunction>(COMPILED.map((c, i) => [c.schema, ajv.compile(SCHEMAS[i]!)]));

function randomJsonWorkflow(seed: number): SzcpWorkflow {
  const w = randomWorkflow(seed);
  const r = rng(seed * 6151);
  let constrained = 0;
  w.zones.forEach((z) => {
    if (z.feed !== null || !r.chance(0.5)) return;
    z.constraint = { kind: "json_schema", ...r.pick(COMPILED) };
    if (z.maxGen < 16) z.maxGen = 16 + r.int(16); // room to close the JSON most of the time
    constrained++;
  });
  if (constrained === 0 && w.zones[0]!.feed === null) w.zones[0]!.constraint = { kind: "json_schema", ...COMPILED[0]! };
  return w;
}

function comparable(t: StreamTrace) {
  return { tokens: Array.from(t.tokens), pcs: Array.from(t.pcs), forced: Array.from(t.forced), events: t.events, status: t.status };
}

/** The script's token when free, else one the state allows (3 %: one it forbids). */
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

/** Each json_schema visit finished by its end pattern with allowed tokens only: the text before the end parses and validates. */
function checkAnswers(trace: StreamTrace, tokenizer: ForgeTokenizer, forbiddenAt: (i: number) => boolean, workflow: SzcpWorkflow): number {
  if (workflow.config.escape !== null) return 0; // an escape may neutralise the end pattern: the zone then goes on free
  let checked = 0;
  let start = 0;
  const ends = new Set(trace.events.filter((e) => e.kind === "advance" || e.kind === "jump" || e.kind === "forced_exit").map((e) => e.step));
  const timeouts = new Set(trace.events.filter((e) => e.kind === "timeout").map((e) => e.step));
  for (let i = 0; i < trace.tokens.length; i++) {
    if (!ends.has(i)) continue;
    const z = workflow.zones[trace.pcs[i]!]!;
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
    if (z.constraint?.kind !== "json_schema" || spoiled || generated.length === 0) continue;
    const text = new TextDecoder().decode(Uint8Array.from(generated.flatMap((t) => Array.from(tokenizer.tokenBytes(t)))));
    const end = (z.jump === null ? [z.advance] : [z.advance, workflow.config.controlToken]).find((e) => text.endsWith(e));
    expect(end, JSON.stringify(text)).toBeDefined();
    const body = text.slice(0, text.length - end!.length);
    const validate = VALIDATORS.get(z.constraint.schema)!;
    let value: unknown;
    expect(() => (value = JSON.parse(body)), body).not.toThrow();
    expect(validate(value), `${body} under ${z.constraint.schema}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    checked++;
  }
  return checked;
}

describe("json_schema zones: reference ≡ host ≡ tensor", () => {
  let tk: TestTokenizers;
  beforeAll(async () => {
    await tf.setBackend("wasm");
    tk = await loadTestTokenizers();
  }, 60_000);

  it(`gives identical traces on ${PROGRAMS} random programs under three tokenizers, and every finished answer validates`, async () => {
    const seen = { programs: 0, constrainedZones: 0, answersChecked: 0, forbiddenPicks: 0, byte: 0, gpt2: 0, llama3: 0 };
    for (let seed = 1; seed <= PROGRAMS; seed++) {
      const name = (["byte", "gpt2", "byte", "gpt2", "byte", "llama3"] as const)[seed % 6]!;
      const tokenizer = tk[name];
      const szcp = randomJsonWorkflow(seed);
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
        seen.answersChecked += checkAnswers(reference, tokenizer, (i) => forbidden[2]!.has(`${b}:${i}`), szcp);
      }
      seen.forbiddenPicks += forbidden[2]!.size;
      seen.constrainedZones += szcp.zones.filter((z) => z.constraint).length;
      seen.programs++;
      seen[name]++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(0);
    expect(seen.answersChecked).toBeGreaterThan(40);
    console.log("json_schema differential coverage:", JSON.stringify(seen));
  }, 900_000);
});
