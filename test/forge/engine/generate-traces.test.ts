/**
 * Pinned traces: fingerprints of whole runs of the seed example (and the tool workflow) at
 * batch 8, computed with the engine as it was before runSlots was split into
 * forge/engine/batch/ (commit 8a45f6f). A change to the loop, the batching policies or the
 * sampler that moves any token, pc, forced flag or status of any stream fails here.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { generateRun, type StepObservation } from "../../../forge/engine/generate.js";
import type { RequestOptions } from "../../../forge/engine/types.js";
import { randomByteModel, seedExample, toolWorkflow } from "./helpers.js";

let backend: forge.ForgeBackend;
let toolBackend: forge.ForgeBackend;

beforeAll(async () => {
  await forge.initBackend("wasm");
  backend = await forge.makeBackend(randomByteModel(), new forge.ByteTokenizer());
  toolBackend = await forge.makeBackend(randomByteModel(), new forge.ByteTokenizer(), { tools: { search: (q: string) => `found ${q.length}` } });
});

function fingerprint(run: forge.Run): string {
  const hash = createHash("sha256");
  for (const s of run.streams)
    hash.update(`${s.instance}|${s.status}|${Array.from(s.tokens).join(",")}|${Array.from(s.pcs).join(",")}|${Array.from(s.forced).join(",")}\n`);
  return hash.digest("hex").slice(0, 16);
}

const SEED_CASES: Array<{ name: string; options: RequestOptions; pinned: string }> = [
  { name: "greedy", options: { batchSize: 8, seed: 7, greedy: true }, pinned: "560782034b719710" },
  { name: "sampled", options: { batchSize: 8, seed: 7 }, pinned: "6526c24bda955c1e" },
  {
    name: "sampled, 12 instances (refills), feedChunk 4, host automaton",
    options: { batchSize: 8, instances: 12, seed: 7, feedChunk: 4, automaton: "host" },
    pinned: "2b90fca77cb63b27",
  },
  {
    name: "greedy, 12 instances, no prefill, waves, tensor automaton",
    options: { batchSize: 8, instances: 12, seed: 7, greedy: true, prefill: false, continuousBatching: false, automaton: "tensor", maxTokens: 1_200 },
    pinned: "b44d97b463f8cf14",
  },
  {
    name: "sampled, 12 instances, shrinking, maxTokens 1 500",
    options: { batchSize: 8, instances: 12, seed: 9, maxTokens: 1_500, feedChunk: 2, automaton: "host" },
    pinned: "27534964b6589f42",
  },
];

describe("the seed example's traces at batch 8", { timeout: 300_000 }, () => {
  it.each(SEED_CASES)("are the pinned ones ($name)", async ({ options, pinned }) => {
    const run = await backend.run(seedExample().factory(), options);
    expect(fingerprint(run)).toBe(pinned);
  });

  it("are the pinned ones for the tool workflow (12 instances, refills, feedChunk 3)", async () => {
    const run = await toolBackend.run(toolWorkflow(), { batchSize: 8, instances: 12, seed: 7, feedChunk: 3, automaton: "host" });
    expect(run.streams.map((s) => s.status).filter((s) => s === "tool_error")).toEqual([]);
    expect(run.streams.map((s) => s.instance)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(fingerprint(run)).toBe("7e2a5aa5c5cba24a");
  });
});

describe("step observers", { timeout: 300_000 }, () => {
  it("see every forward's logits rows and step records, and change no trace", async () => {
    const options: RequestOptions = { batchSize: 8, seed: 7, greedy: true };
    const model = randomByteModel();
    const parts = { model, tokenizer: new forge.ByteTokenizer(), tools: {}, backend: "wasm" };
    let observed = 0;
    let checkedArgmax = 0;
    const observer = {
      onStep(step: StepObservation) {
        observed++;
        expect(step.logits!.shape).toEqual([step.rows.length, model.config.vocabSize]);
        const rows = step.logits!.arraySync();
        step.rows.forEach((slot, r) => {
          const first = step.records[slot]![0];
          if (first === undefined || first.forced || !step.fed[r]) return;
          // Greedy: the generated token is the argmax of the slot's logits row.
          const row = rows[r]!;
          expect(first.token).toBe(row.indexOf(Math.max(...row)));
          checkedArgmax++;
        });
      },
    };
    const run = await generateRun(parts, seedExample().factory(), options, [observer]);
    expect(fingerprint(run)).toBe(SEED_CASES[0]!.pinned);
    // Every step after the shared prefix has a forward, except the run's last (no step follows the last token).
    expect(observed).toBe(run.meta.steps - run.meta.sharedPrefixTokens!);
    expect(checkedArgmax).toBeGreaterThan(100);
  });
});
