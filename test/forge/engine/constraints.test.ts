/**
 * Constrained zones end to end (docs/automaton.md#constrained-zones): UDPL `choices` and
 * `regex` on a small random-weight model over the byte tokenizer. A random model would never
 * spell a choice: the masks make every answer obey its constraint. Free streams sample as
 * without constraints. Choice scores are checked against brute force with the model itself:
 * under the byte tokenizer each choice has one token path, so P(choice) = Π p(byte | prefix),
 * computed here by full forwards over the stream's context.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { randomByteModel } from "./helpers.js";

const UDPL = `
[config]
zone_tokens = ["[Prompt]", "[Answer]", "[EOS]"]
required_tokens = ["[Prompt]"]
valid_tags = ["answer", "count"]
sequences = ["ask", "count"]
control_token = "[Jump]"
default_max_token_length = 24

[[ask]]
text = "[Prompt] Is the sky blue? [Answer]"
tags = [[], ["answer"]]
CONSTRAINT_ASK

[[count]]
text = "[Prompt] How many legs has a spider? [Answer]"
tags = [[], ["count"]]
CONSTRAINT_COUNT
`;
const CHOICES = ["yes", "no", "unsure"];

function workflowOf(constrained: boolean): forge.SzcpWorkflow {
  const text = UDPL.replace("CONSTRAINT_ASK", constrained ? `choices = ${JSON.stringify(CHOICES)}` : "").replace("CONSTRAINT_COUNT", constrained ? "regex = '\\d{1,2}'" : "");
  const { sequences, config } = forge.parseUdpl(text, { file: "constraints.toml" });
  const program = forge.newProgram(sequences, {}, config);
  program.run("ask");
  program.run("count");
  program.extract("answer", ["answer"]);
  program.extract("count", ["count"]);
  return program.compile()();
}

let model: forge.DecoderModel;
let backend: Awaited<ReturnType<typeof forge.makeBackend>>;
beforeAll(async () => {
  await forge.initBackend("wasm");
  model = randomByteModel(5);
  backend = await forge.makeBackend(model, new forge.ByteTokenizer());
}, 120_000);

describe("constrained zones in the engine", { timeout: 600_000 }, () => {
  it("every answer obeys its constraint, under sampling, greedy, and the tensor automaton; free zones are untouched", async () => {
    for (const options of [{ seed: 4 }, { seed: 9, greedy: true }, { seed: 4, automaton: "tensor" as const }]) {
      const run = await backend.run(workflowOf(true), { batchSize: 6, instances: 8, ...options });
      expect(run.streams).toHaveLength(8);
      for (const [i, text] of run.extractions.answer!.entries()) {
        expect(CHOICES, `stream ${i}: ${JSON.stringify(text)}`).toContain(text.trim());
      }
      for (const stream of run.streams) {
        const text = new forge.ByteTokenizer().decode(stream.tokens);
        expect(text, JSON.stringify(options)).toMatch(/Is the sky blue\? \[Answer\](yes|no|unsure)\[EOS\]\[Prompt\] How many legs has a spider\? \[Answer\]\d{1,2}\[EOS\]$/);
        expect(stream.status).toBe("done");
      }
    }
    // The sampler is unchanged for free streams: without constraints the same seed gives the same tokens up to the first constrained step.
    const free = await backend.run(workflowOf(false), { batchSize: 6, instances: 8, seed: 4 });
    const constrained = await backend.run(workflowOf(true), { batchSize: 6, instances: 8, seed: 4 });
    for (let i = 0; i < 8; i++) {
      const prompt = "[Prompt] Is the sky blue? [Answer]".length;
      expect(Array.from(constrained.streams[i]!.tokens.subarray(0, prompt))).toEqual(Array.from(free.streams[i]!.tokens.subarray(0, prompt)));
      expect(Array.from(free.streams[i]!.tokens.subarray(prompt, prompt + 3))).not.toEqual([]); // the free run generated there
    }
  });

  it("records choice scores that match the model's own probabilities, by brute force", async () => {
    const run = await backend.run(workflowOf(true), { batchSize: 4, instances: 4, seed: 11 });
    const records = run.choices!;
    expect(records).toHaveLength(4); // one choices visit per stream
    const enc = new TextEncoder();
    for (const r of records) {
      const stream = run.streams[r.instance]!;
      expect(r.zoneId).toBe(1);
      expect(r.visit).toBe(0);
      const context = Array.from(stream.tokens.subarray(0, r.step));
      const spelled = new forge.ByteTokenizer().decode(stream.tokens.subarray(r.step)).split("[EOS]")[0]!;
      expect(r.choice).toBe(CHOICES.indexOf(spelled));
      CHOICES.forEach((c, k) => {
        const bytes = Array.from(enc.encode(c));
        // P(choice) with the model: Π p(byte_i | context + bytes_<i), one full forward over the longest sequence.
        const logits = model.forward([context.concat(bytes)]);
        const logp = tf.tidy(() => tf.logSoftmax(logits.squeeze([0]) as tf.Tensor2D).arraySync() as number[][]);
        logits.dispose();
        const exact = Math.exp(bytes.reduce((sum, b, i) => sum + logp[context.length - 1 + i]![b]!, 0));
        const first = Math.exp(logp[context.length - 1]![bytes[0]!]!);
        if (k === r.choice) {
          expect(r.basis[k]).toBe("path");
          expect(r.probabilities[k]! / exact).toBeCloseTo(1, 2);
        } else {
          expect(r.basis[k]).toBe("first_token");
          // Choices sharing a first byte share its mass (none here do).
          expect(r.probabilities[k]! / first).toBeCloseTo(1, 2);
          expect(r.probabilities[k]!).toBeGreaterThanOrEqual(exact * 0.99);
        }
      });
    }
  });
});
