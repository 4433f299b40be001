/**
 * The engine end to end: the seed README's program (both UDPL errors fixed) on a small
 * random-weight model over the byte tokenizer. Assertions are about the automaton and the
 * run's bookkeeping, not about text quality.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { randomByteModel, seedExample } from "./helpers.js";

let backend: forge.ForgeBackend;

beforeAll(async () => {
  await forge.initBackend("wasm");
  backend = await forge.makeBackend(randomByteModel(), new forge.ByteTokenizer());
});

// The seed example feeds ≈ 900 forced bytes before its loop: ≈ 1 800 decode steps a run.
describe("session.request on the seed example", { timeout: 300_000 }, () => {
  it("runs 32 streams to the end, with the loop in every path", async () => {
    const { config, factory } = seedExample();
    const session = forge.makeSession(forge.makeServer(backend, { address: null }));
    const results = await session.request(config, factory(), { batchSize: 32, seed: 3 });
    const run = results.run;

    expect(results.training_data).toHaveLength(32);
    expect(run.streams).toHaveLength(32);
    for (const stream of run.streams) expect(["done", "timeout", "truncated"]).toContain(stream.status);
    // A random model almost never spells [EOS]: its zones end by timeout and say so.
    expect(run.statistics.status.timeout + run.statistics.status.done).toBe(32);

    // Every path: setup, then the loop head at least twice (min 1 ignores the first jump), conclusion last.
    for (const path of run.paths) {
      const sequences = path.map((segment) => segment.sequence);
      expect(sequences[0]).toBe("setup");
      expect(sequences.at(-1)).toBe("conclusion");
      expect(new Set(sequences)).toEqual(new Set(["setup", "control", "reasoning", "conclusion"]));
    }
    const loop = run.statistics.loops[0]!;
    expect(loop.iterations).toHaveLength(32);
    for (const n of loop.iterations) {
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(3);
    }
    expect(run.meta.backend).toBe("wasm");
    expect(run.meta.workflowHash).toBe(forge.workflowHash(factory()));
  });

  it("gives the same traces for the same seed, and other traces for another seed", async () => {
    const { factory } = seedExample();
    const workflow = factory();
    const a = await backend.run(workflow, { batchSize: 2, seed: 11 });
    const b = await backend.run(workflow, { batchSize: 2, seed: 11 });
    const c = await backend.run(workflow, { batchSize: 2, seed: 12 });
    expect(a.streams.map((s) => Array.from(s.tokens))).toEqual(b.streams.map((s) => Array.from(s.tokens)));
    expect(a.streams.map((s) => Array.from(s.tokens))).not.toEqual(c.streams.map((s) => Array.from(s.tokens)));
  });

  it("samples an instance the same whatever its batch and slot", async () => {
    const { factory } = seedExample();
    const workflow = factory();
    const alone = await backend.run(workflow, { batchSize: 4, instances: 4, seed: 5 });
    const waves = await backend.run(workflow, { batchSize: 3, instances: 4, seed: 5 });
    // instance 3 ran in slot 3 of a batch of 4, and alone in slot 0 of a second wave.
    expect(Array.from(waves.streams[3]!.tokens)).toEqual(Array.from(alone.streams[3]!.tokens));
    expect(waves.streams.map((s) => s.instance)).toEqual([0, 1, 2, 3]);
  });

  it("stops within one step when the signal aborts and returns what it has, marked interrupted", async () => {
    const { factory } = seedExample();
    const controller = new AbortController();
    let reports = 0;
    const run = await backend.run(factory(), {
      batchSize: 8,
      signal: controller.signal,
      onProgress: (p) => {
        reports++;
        if (p.step > 20) controller.abort();
      },
    });
    expect(run.meta.interrupted).toBe(true);
    expect(reports).toBeGreaterThan(0);
    for (const stream of run.streams) {
      expect(stream.status).toBe("interrupted");
      expect(stream.tokens.length).toBeGreaterThan(20);
    }
  });

  it("truncates at maxTokens and reports it", async () => {
    const { factory } = seedExample();
    const run = await backend.run(factory(), { batchSize: 2, maxTokens: 100 });
    for (const stream of run.streams) {
      expect(stream.status).toBe("truncated");
      expect(stream.tokens.length).toBe(100);
    }
  });

  it("refuses a workflow that uses a tool the backend lacks, and a bad option, before running", async () => {
    const { factory } = seedExample();
    await expect(backend.run(factory(), { batchSize: 0 })).rejects.toThrow(/batchSize must be a positive integer/);
    await expect(backend.run(factory(), { temperature: -1 })).rejects.toThrow(/temperature/);
  });
});
