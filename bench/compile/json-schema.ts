/**
 * Benchmark: json_schema zones (docs/language.md#constrained-zones) — what a schema costs to
 * compile to its regex (with the NFA and DFA-state checks), how many token-table states it
 * makes, and how long the backend takes to build its token tables under GPT-2's whole
 * vocabulary (50 257). The masks themselves are regex masks: bench/ttfa/constraints.ts times
 * those per stream-step.
 *
 * CPU time (process.cpuUsage) beside wall time; each compile gets a fresh source (trailing
 * spaces) so the compiler's memo does not answer. The last line prints the docs example.
 *
 *   npx tsx bench/compile/json-schema.ts
 */
import { loadavg } from "node:os";
import { compileJsonSchema, countDfaStates, JSON_SCHEMA_LIMITS } from "../../forge/szcp/json-schema.js";
import { compileRegex } from "../../forge/szcp/regex.js";
import { SZCP_FORMAT, SZCP_VERSION, type SzcpWorkflow } from "../../forge/szcp/types.js";
import { loadGpt2Tokenizer } from "../../forge/tokenizer/index.js";
import { compileForBackend } from "../../forge/ttfa/index.js";

const SCHEMAS: Array<[string, object]> = [
  ["boolean", { type: "boolean" }],
  [
    "docs example (verdict, confidence 0..100, reason ≤ 12)",
    {
      type: "object",
      properties: { verdict: { enum: ["yes", "no", "unsure"] }, confidence: { type: "integer", minimum: 0, maximum: 100 }, reason: { type: "string", maxLength: 12 } },
      required: ["verdict", "confidence"],
    },
  ],
  [
    "e2e test schema (6 properties)",
    {
      type: "object",
      properties: {
        verdict: { enum: ["yes", "no", "unsure"] },
        confidence: { type: "integer", minimum: 0, maximum: 100 },
        reason: { type: "string", maxLength: 10 },
        tags: { type: "array", items: { type: "string", minLength: 1, maxLength: 3 }, maxItems: 2 },
        flag: { type: ["boolean", "null"] },
        score: { type: "number" },
      },
      required: ["verdict", "confidence"],
    },
  ],
];

function workflowWith(schema: { schema: string; pattern: string }): SzcpWorkflow {
  return {
    format: SZCP_FORMAT,
    version: SZCP_VERSION,
    config: { zoneTokens: ["[Prompt]", "[Answer]", "[EOS]"], controlToken: "[Jump]", escape: null, tools: [] },
    zones: [
      { text: "[Prompt] Q? [Answer]", advance: "[EOS]", next: -1, jump: null, loop: null, tags: [], maxGen: 64, capture: null, feed: null, sequence: "s", block: 0, zone: 1, repetition: 0, constraint: { kind: "json_schema", ...schema } },
    ],
    counters: 0,
    extractions: [],
    meta: {},
  } as unknown as SzcpWorkflow;
}

function timed<T>(f: () => T): { value: T; cpuMs: number; wallMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, cpuMs: (c.user + c.system) / 1000, wallMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const gpt2 = await loadGpt2Tokenizer();
console.log(`json_schema bench, ${new Date().toISOString()}, load ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
let last = "";
for (const [name, schema] of SCHEMAS) {
  const text = JSON.stringify(schema);
  const cpu: number[] = [], wall: number[] = [];
  let compiled = compileJsonSchema(text);
  for (let i = 1; i <= 15; i++) {
    const r = timed(() => compileJsonSchema(text + " ".repeat(i)));
    compiled = r.value;
    cpu.push(r.cpuMs);
    wall.push(r.wallMs);
  }
  const states = countDfaStates(compileRegex(compiled.pattern, JSON_SCHEMA_LIMITS.maxPatternLength), JSON_SCHEMA_LIMITS.maxDfaStates);
  const tables = timed(() => compileForBackend(workflowWith(compiled), gpt2));
  const line = `${name}: regex ${compiled.pattern.length} chars, byte DFA ${states} states; compile median ${median(cpu).toFixed(1)} ms CPU (${median(wall).toFixed(1)} ms wall); GPT-2 program (constraint tables included) ${tables.value.constraints.stateCount} states in ${tables.cpuMs.toFixed(0)} ms CPU (${tables.wallMs.toFixed(0)} ms wall)`;
  console.log(line);
  if (name.startsWith("docs")) last = line;
}
console.log(last);
