/**
 * The differential test for constrained zones (docs/automaton.md#constrained-zones): ≥ 500
 * random programs with `choices` and `regex` zones, in constrained-harness.ts's setting
 * (reference ≡ host ≡ tensor under the byte, GPT-2 and Llama 3 tokenizers, masked sampling with
 * a few forbidden picks); every constrained zone visit the reference ends by its end pattern,
 * with only allowed tokens, spells a choice or a regex match followed by that pattern.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import type { SzcpWorkflow } from "../../../forge/szcp/types.js";
import { randomWorkflow, rng } from "./fixtures.js";
import { runConstrainedDifferential } from "./constrained-harness.js";
import { loadTestTokenizers, type TestTokenizers } from "../../helpers/tokenizers.js";

const PROGRAMS = 510;

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

describe("constrained zones: reference ≡ host ≡ tensor", () => {
  let tk: TestTokenizers;
  beforeAll(async () => {
    await tf.setBackend("wasm");
    tk = await loadTestTokenizers();
  }, 60_000);

  it(`gives identical traces on ${PROGRAMS} random constrained programs under three tokenizers, and the answers obey the constraints`, async () => {
    const seen = await runConstrainedDifferential(tk, PROGRAMS, randomConstrainedWorkflow, ({ zone, body, text }) => {
      const c = zone.constraint;
      if (c.kind === "choices") expect(c.choices, JSON.stringify(text)).toContain(body);
      else if (c.kind === "regex") expect(body, JSON.stringify(text)).toMatch(new RegExp(`^(?:${c.pattern})$`, "u"));
      else throw new Error(`unexpected constraint kind ${c.kind}`);
    });
    expect(seen.programs).toBeGreaterThanOrEqual(500);
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(0);
    expect(seen.answersChecked).toBeGreaterThan(200);
    console.log("constrained differential coverage:", JSON.stringify(seen));
  }, 1_500_000); // ≈ 70 s of CPU; at load 30 on the shared 2 cores it took 13 min of wall
});
