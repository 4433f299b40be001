/**
 * The differential test (docs/automaton.md#three-implementations): ≥ 500 random programs × scripted token streams run
 * through the reference interpreter one stream at a time, and through the TensorAutomaton
 * (wasm) and the HostAutomaton as batches; every trace must be identical (tokens, pcs, forced flags, events, status).
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { ByteTokenizer } from "../../../forge/tokenizer/byte.js";
import type { ForgeTokenizer } from "../../../forge/tokenizer/types.js";
import { compileForBackend, HostAutomaton, runScripted, TensorAutomaton } from "../../../forge/ttfa/index.js";
import type { StreamTrace } from "../../../forge/run/types.js";
import { randomScript, randomWorkflow } from "./fixtures.js";
import { runBatch, scriptedTool } from "./harness.js";
import { loadGpt2Tokenizer } from "../../../forge/tokenizer/index.js";

const PROGRAMS = 520;
const STREAMS = 6;
const MAX_STEPS = 70;

function comparable(t: StreamTrace) {
  return { tokens: Array.from(t.tokens), pcs: Array.from(t.pcs), forced: Array.from(t.forced), events: t.events, status: t.status };
}

describe("reference interpreter vs tensor automaton", () => {
  let gpt2: ForgeTokenizer;
  beforeAll(async () => {
    await tf.setBackend("wasm");
    gpt2 = await loadGpt2Tokenizer();
  });

  it(`gives identical traces on ${PROGRAMS} random programs`, async () => {
    const byte = new ByteTokenizer();
    const seen = { events: 0, timeout: 0, jump: 0, ignored: 0, forcedExit: 0, capture: 0, toolResult: 0, truncated: 0, done: 0, programs: 0 };
    for (let seed = 1; seed <= PROGRAMS; seed++) {
      // Every fifth program runs on GPT-2's vocabulary, where patterns span several bytes per token.
      const tokenizer = seed % 5 === 0 ? gpt2 : byte;
      const szcp = randomWorkflow(seed);
      const program = compileForBackend(szcp, tokenizer);
      const patterns = program.trigger.patterns;
      const scripts = Array.from({ length: STREAMS }, (_, b) => randomScript(seed * 100 + b, MAX_STEPS, tokenizer, patterns));
      const tool = scriptedTool(patterns.map((p) => tokenizer.encode(p)));
      const automaton = new TensorAutomaton(program, STREAMS);
      let batch: StreamTrace[];
      try {
        batch = runBatch(automaton, scripts, MAX_STEPS, tool);
      } finally {
        automaton.dispose();
      }
      const host = runBatch(new HostAutomaton(program, STREAMS), scripts, MAX_STEPS, tool);
      for (let b = 0; b < STREAMS; b++) {
        const reference = runScripted(program, (i) => scripts[b]![i] ?? 0, MAX_STEPS, { instance: b, tool });
        const ctx = `program seed ${seed} (${tokenizer.identity}), stream ${b}`;
        expect(comparable(batch[b]!), ctx).toEqual(comparable(reference));
        expect(comparable(host[b]!), `${ctx}, host automaton`).toEqual(comparable(reference));
        for (const e of reference.events) {
          seen.events++;
          if (e.kind === "timeout") seen.timeout++;
          if (e.kind === "jump") seen.jump++;
          if (e.kind === "ignored_jump") seen.ignored++;
          if (e.kind === "forced_exit") seen.forcedExit++;
          if (e.kind === "capture") seen.capture++;
          if (e.kind === "tool_result") seen.toolResult++;
        }
        if (reference.status === "truncated") seen.truncated++;
        else seen.done++;
      }
      seen.programs++;
      // Let the test worker answer the runner between programs (a long synchronous loop starves its RPC).
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The random programs must actually exercise every mechanism.
    expect(seen.programs).toBeGreaterThanOrEqual(500);
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(0);
    console.log("differential coverage:", JSON.stringify(seen));
  }, 300_000); // ≈ 25 s of CPU; the wall clock stretches when the shared cores are busy
});
