/**
 * Throughput features (issue 10): shared-prefix prefill, continuous batching, shrinking the
 * batch to the live streams, multi-token forced feeding. Each must leave the greedy traces
 * exactly as the one-token-per-step run gives them (and, where the arithmetic is the same,
 * the sampled ones), and spend fewer forward tokens or steps.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { compileForBackend, runScripted } from "../../../forge/ttfa/index.js";
import { sharedPrefix } from "../../../forge/engine/batch/prefix.js";
import { randomByteModel, seedExample, toolWorkflow } from "./helpers.js";

let model: forge.DecoderModel;
let backend: forge.ForgeBackend;

beforeAll(async () => {
  await forge.initBackend("wasm");
  model = randomByteModel();
  backend = await forge.makeBackend(model, new forge.ByteTokenizer());
});

const traces = (run: forge.Run) => run.streams.map((s) => ({ ...s }));

describe("the shared prefix", () => {
  it("is the forced run every stream starts with, up to the first sampled token", () => {
    const program = compileForBackend(seedExample().factory(), new forge.ByteTokenizer());
    const prefix = sharedPrefix(program, 10_000);
    // A scripted stream (any sampled tokens) starts with exactly these forced steps.
    const trace = runScripted(program, () => 65, 2_000);
    const firstSampled = trace.forced.indexOf(0);
    expect(prefix.steps.length).toBe(firstSampled);
    expect(Array.from(prefix.tokens)).toEqual(Array.from(trace.tokens.subarray(0, firstSampled)));
    expect(new forge.ByteTokenizer().decode(Array.from(prefix.tokens))).toContain("I understand.");
    // The cap keeps a stream's token limit outside the prefix.
    expect(sharedPrefix(program, 100).steps.length).toBe(100);
  });

  it("stops before a capture: the engine must call the tool itself", () => {
    const program = compileForBackend(toolWorkflow(), new forge.ByteTokenizer());
    const prefix = sharedPrefix(program, 10_000);
    expect(new forge.ByteTokenizer().decode(Array.from(prefix.tokens))).toBe("[Prompt] What should I look up? [Answer]");
  });
});

describe("shared-prefix prefill", { timeout: 300_000 }, () => {
  it.each([
    { greedy: true, automaton: "host" as const },
    { greedy: false, automaton: "host" as const },
    { greedy: true, automaton: "tensor" as const },
  ])("gives the traces of the stepwise run and computes the prefix once ($automaton, greedy $greedy)", async ({ greedy, automaton }) => {
    const workflow = seedExample().factory();
    const B = 4;
    const options = { batchSize: B, seed: 6, greedy, automaton, maxTokens: 1_150 };
    const off = await backend.run(workflow, { ...options, prefill: false });
    const on = await backend.run(workflow, { ...options, prefill: true });
    expect(traces(on)).toEqual(traces(off));
    expect(on.extractions).toEqual(off.extractions);
    if (!greedy) expect(new Set(on.streams.map((s) => Array.from(s.tokens).join())).size).toBe(B); // streams differ

    const P = on.meta.sharedPrefixTokens!;
    expect(P).toBeGreaterThan(1_000); // the seed example's setup block and the first prompt
    expect(off.meta.sharedPrefixTokens).toBe(0);
    expect(on.meta.steps).toBe(off.meta.steps);
    // Stepwise: every step after the first decodes all B streams. Prefill: the prefix's first
    // P−1 tokens are computed once (one stream's worth), the rest as before.
    expect(off.meta.forwardTokens).toBe((off.meta.steps - 1) * B);
    expect(on.meta.forwardTokens).toBe(P - 1 + (on.meta.steps - P) * B);
    expect(off.meta.forwardTokens! - on.meta.forwardTokens!).toBe((P - 1) * (B - 1));
  });

  it("leaves no prefix when the token cap leaves no room for one", async () => {
    const run = await backend.run(seedExample().factory(), { batchSize: 2, maxTokens: 1, prefill: true });
    expect(run.meta.sharedPrefixTokens).toBe(0); // a 1-token cap leaves no room for a prefix
    for (const stream of run.streams) expect(stream.status).toBe("truncated");
  });

  it("refuses a flag that is not a boolean", async () => {
    await expect(backend.run(seedExample().factory(), { prefill: "yes" as unknown as boolean })).rejects.toThrow(/prefill must be true or false/);
  });
});

/** Tool answers of very different lengths: streams end far apart. */
const lengthyTools = {
  search: (_input: string, { instance }: { instance: number }) => "r".repeat(5 + ((instance * 37) % 7) * 30),
};

describe("continuous batching", { timeout: 300_000 }, () => {

  it.each([
    { prefill: false, automaton: "host" as const },
    { prefill: true, automaton: "host" as const },
    { prefill: true, automaton: "tensor" as const },
  ])("refills a finished slot at once, with the traces of the wave run, in instance order (prefill $prefill, $automaton)", async ({ prefill, automaton }) => {
    const tools = await forge.makeBackend(model, new forge.ByteTokenizer(), { tools: lengthyTools });
    const workflow = toolWorkflow();
    const options = { batchSize: 3, instances: 8, seed: 2, prefill, automaton };
    const waves = await tools.run(workflow, { ...options, continuousBatching: false });
    const continuous = await tools.run(workflow, { ...options, continuousBatching: true });
    expect(continuous.streams.map((s) => s.instance)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(traces(continuous)).toEqual(traces(waves));
    expect(continuous.extractions).toEqual(waves.extractions);
    const lengths = waves.streams.map((s) => s.tokens.length);
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeGreaterThan(100);
    // Waves wait for their longest stream; refilled slots do not.
    expect(continuous.meta.steps).toBeLessThan(waves.meta.steps);
  });

  it("keeps a failing tool's stream to itself when its slot is refilled", async () => {
    const tools = await forge.makeBackend(model, new forge.ByteTokenizer(), {
      tools: {
        search: async (_input, { instance }) => {
          if (instance % 3 === 1) throw new Error(`no results for ${instance}`);
          await new Promise((r) => setTimeout(r, 3 * instance));
          return `result-${instance}`;
        },
      },
    });
    const run = await tools.run(toolWorkflow(), { batchSize: 2, instances: 7, seed: 1, continuousBatching: true });
    run.streams.forEach((stream, i) => {
      expect(stream.instance).toBe(i);
      if (i % 3 === 1) {
        expect(stream.status).toBe("tool_error");
        expect(stream.message).toContain(`no results for ${i}`);
      } else {
        expect(stream.status).toBe("timeout");
        expect(run.extractions.answer![i]).toContain(`result-${i}`);
      }
    });
  });

  it("samples an instance the same whatever slot it was refilled into", async () => {
    const workflow = seedExample().factory();
    const alone = await backend.run(workflow, { batchSize: 1, instances: 1, firstInstance: 4, seed: 8, maxTokens: 1_200 });
    const refilled = await backend.run(workflow, { batchSize: 2, instances: 5, seed: 8, maxTokens: 1_200 });
    expect(refilled.streams[4]!.instance).toBe(4);
    expect(Array.from(refilled.streams[4]!.tokens)).toEqual(Array.from(alone.streams[0]!.tokens));
  });
});

describe("shrinking the batch", { timeout: 300_000 }, () => {
  it.each([true, false])("keeps the traces while the tail of long streams computes fewer rows (greedy %s)", async (greedy) => {
    const tools = await forge.makeBackend(model, new forge.ByteTokenizer(), { tools: lengthyTools });
    const options = { batchSize: 6, seed: 3, greedy, automaton: "host" as const };
    const everyRow = await tools.run(toolWorkflow(), { ...options, shrinkBatch: false });
    const liveRows = await tools.run(toolWorkflow(), { ...options, shrinkBatch: true });
    // Rows are computed independently, so even sampled draws are the same.
    expect(traces(liveRows)).toEqual(traces(everyRow));
    const lengths = everyRow.streams.map((s) => s.tokens.length);
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeGreaterThan(100);
    expect(liveRows.meta.steps).toBe(everyRow.meta.steps);
    expect(liveRows.meta.forwardTokens).toBeLessThan(everyRow.meta.forwardTokens! * 0.8);
  });

  it("refuses a flag that is not a boolean", async () => {
    await expect(backend.run(seedExample().factory(), { shrinkBatch: 1 as unknown as boolean })).rejects.toThrow(/shrinkBatch must be true or false/);
  });
});

describe("multi-token forced feeding", { timeout: 300_000 }, () => {
  it("feeds forced runs k tokens per forward with the greedy traces of one token per step", async () => {
    const workflow = seedExample().factory();
    const B = 3;
    const options = { batchSize: B, seed: 2, greedy: true, maxTokens: 1_300, prefill: false };
    const stepwise = await backend.run(workflow, { ...options, feedChunk: 1 });
    const fed = await backend.run(workflow, { ...options, feedChunk: 16 });
    expect(traces(fed)).toEqual(traces(stepwise));
    // Forced runs collapse: far fewer forwards (steps), each up to 16 tokens wide.
    expect(fed.meta.steps).toBeLessThan(stepwise.meta.steps / 4);
  });

  it("fires triggers and tools inside fed runs at the right token, with prefill and refills on", async () => {
    const tools = await forge.makeBackend(model, new forge.ByteTokenizer(), {
      tools: { search: (_input, { instance }) => `answer ${instance} `.repeat(1 + (instance % 3)) },
    });
    const options = { batchSize: 2, instances: 5, seed: 4, greedy: true };
    const stepwise = await tools.run(toolWorkflow(), { ...options, feedChunk: 1, prefill: false, continuousBatching: false });
    const fed = await tools.run(toolWorkflow(), { ...options, feedChunk: 8 });
    expect(traces(fed)).toEqual(traces(stepwise));
    expect(fed.extractions).toEqual(stepwise.extractions);
    expect(fed.meta.steps).toBeLessThan(stepwise.meta.steps);
  });

  it("refuses a bad chunk, and a chunk with the tensor automaton", async () => {
    await expect(backend.run(seedExample().factory(), { feedChunk: 0 })).rejects.toThrow(/feedChunk must be a positive integer/);
    await expect(backend.run(seedExample().factory(), { feedChunk: 4, automaton: "tensor" })).rejects.toThrow(/needs the host automaton/);
  });
});
