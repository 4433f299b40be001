/**
 * json_schema zones in the differential setting of test/forge/ttfa/constrained-harness.ts
 * (reference interpreter ≡ HostAutomaton ≡ TensorAutomaton on wasm, masked sampling with a few
 * forbidden picks, under the byte, GPT-2 and Llama 3 tokenizers), on random programs whose
 * constrained zones carry JSON schemas. Every constrained visit the reference finishes with
 * allowed tokens must be `JSON.parse`-able and valid under its schema by ajv.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { Ajv, type ValidateFunction } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import type { SzcpWorkflow } from "../../../forge/szcp/types.js";
import { compileJsonSchema } from "../../../forge/szcp/json-schema.js";
import { randomWorkflow, rng } from "../ttfa/fixtures.js";
import { runConstrainedDifferential } from "../ttfa/constrained-harness.js";
import { loadTestTokenizers, type TestTokenizers } from "../../helpers/tokenizers.js";

const PROGRAMS = 72;

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

describe("json_schema zones: reference ≡ host ≡ tensor", () => {
  let tk: TestTokenizers;
  beforeAll(async () => {
    await tf.setBackend("wasm");
    tk = await loadTestTokenizers();
  }, 60_000);

  it(`gives identical traces on ${PROGRAMS} random programs under three tokenizers, and every finished answer validates`, async () => {
    const seen = await runConstrainedDifferential(tk, PROGRAMS, randomJsonWorkflow, ({ zone, body }) => {
      const c = zone.constraint;
      if (c.kind !== "json_schema") throw new Error(`unexpected constraint kind ${c.kind}`);
      const validate = VALIDATORS.get(c.schema)!;
      let value: unknown;
      expect(() => (value = JSON.parse(body)), body).not.toThrow();
      expect(validate(value), `${body} under ${c.schema}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    });
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(0);
    expect(seen.answersChecked).toBeGreaterThan(40);
    console.log("json_schema differential coverage:", JSON.stringify(seen));
  }, 900_000);
});
