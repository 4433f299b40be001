/**
 * Merging the Runs of a request's parts (forge/run/merge.ts): on real runs of a small random
 * model, the merge of partition runs equals one run — streams, derived data, and the
 * metadata the engine sums or keeps (steps, forwardTokens, sharedPrefixTokens).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import type { Run } from "../../../forge/run/types.js";
import { mergeRuns, mergeStatistics, RunMergeError, RunStatisticsError, unstartedRun } from "../../../forge/run/index.js";
import { saveTestModel, tinyWorkflow } from "../transport/queue/helpers.js";

const model = saveTestModel();
let backend: forge.ForgeBackend;
beforeAll(async () => {
  backend = await forge.makeBackend(model.dir, undefined, { device: "wasm" });
});
afterAll(() => model.remove());

/** The derived parts of a Run, without its per-run metadata. */
function body(run: Run) {
  return { streams: run.streams, extractions: run.extractions, paths: run.paths, statistics: run.statistics };
}

describe("mergeRuns", () => {
  it("merges partition runs (any order) into the run of the whole request", async () => {
    const { workflow } = tinyWorkflow();
    const options = { batchSize: 4, seed: 11 };
    const whole = await backend.run(workflow, { ...options, instances: 10 });
    const ranges = [
      { firstInstance: 7, instances: 3 },
      { firstInstance: 0, instances: 3 },
      { firstInstance: 3, instances: 4 },
    ];
    const parts = await Promise.all(ranges.map((r) => backend.run(workflow, { ...options, ...r })));
    const startedAt = new Date();
    const merged = mergeRuns(parts, { workflow, seed: 11, batchSize: 4, firstInstance: 0, instances: 10, startedAt });
    expect(body(merged)).toEqual(body(whole));
    // Same as deriving the concatenated streams afresh.
    const rederived = forge.deriveRun({ meta: merged.meta, workflow, streams: parts.flatMap((p) => p.streams) }, backend.tokenizer);
    expect(body(merged)).toEqual(body(rederived));
    expect(merged.meta).toMatchObject({ seed: 11, instances: 10, batchSize: 4, interrupted: false, tokenizer: whole.meta.tokenizer, model: whole.meta.model });
    expect(merged.meta.steps).toBe(parts.reduce((n, p) => n + p.meta.steps, 0));
    // What the engine sums over its waves is summed over the parts; the shared prefix is kept once.
    expect(merged.meta.forwardTokens).toBe(parts.reduce((n, p) => n + p.meta.forwardTokens!, 0));
    expect(merged.meta.forwardTokens).toBeGreaterThan(0);
    expect(merged.meta.sharedPrefixTokens).toBe(Math.max(...parts.map((p) => p.meta.sharedPrefixTokens!)));
    expect(merged.meta.sharedPrefixTokens).toBe(whole.meta.sharedPrefixTokens);
    expect([merged.meta.engine, merged.meta.device]).toEqual([whole.meta.engine, whole.meta.device]);
  });

  it("concatenates the parts' choice scores in instance order, and adds none where no part has any", async () => {
    const { workflow } = tinyWorkflow();
    const a = await backend.run(workflow, { batchSize: 2, instances: 2, seed: 3 });
    const b = await backend.run(workflow, { batchSize: 2, instances: 2, seed: 3, firstInstance: 2 });
    const request = { workflow, seed: 3, batchSize: 2, firstInstance: 0, instances: 4, startedAt: new Date() };
    expect(mergeRuns([a, b], request)).not.toHaveProperty("choices");
    const record = (instance: number) => ({ instance, zoneId: 1, visit: 0, step: 5, choice: 0, probabilities: [0.75, 0.25], basis: ["path" as const, "path" as const] });
    const merged = mergeRuns([{ ...b, choices: [record(2), record(3)] }, { ...a, choices: [record(0)] }], request);
    expect(merged.choices!.map((c) => c.instance)).toEqual([0, 2, 3]);
  });

  it("keeps forwardTokens and sharedPrefixTokens equal to a direct run's when one part is the whole request", async () => {
    const { workflow } = tinyWorkflow();
    const direct = await backend.run(workflow, { batchSize: 4, instances: 4, seed: 5 });
    const merged = mergeRuns([direct], { workflow, seed: 5, batchSize: 4, firstInstance: 0, instances: 4, startedAt: new Date() });
    expect(direct.meta.sharedPrefixTokens).toBeGreaterThan(0);
    expect({ forwardTokens: merged.meta.forwardTokens, sharedPrefixTokens: merged.meta.sharedPrefixTokens }).toEqual({
      forwardTokens: direct.meta.forwardTokens,
      sharedPrefixTokens: direct.meta.sharedPrefixTokens,
    });
  });

  it("adds statistics with derive's accumulator and refuses statistics of another workflow", async () => {
    const { workflow } = tinyWorkflow();
    const a = await backend.run(workflow, { batchSize: 2, instances: 2, seed: 3 });
    const b = await backend.run(workflow, { batchSize: 2, instances: 2, seed: 3, firstInstance: 2 });
    const whole = await backend.run(workflow, { batchSize: 2, instances: 4, seed: 3 });
    expect(mergeStatistics(workflow, [a.statistics, b.statistics])).toEqual(whole.statistics);
    const foreign = { ...a.statistics, jumpSites: [{ ...a.statistics.jumpSites[0]!, zoneId: 9999 }] };
    expect(() => mergeStatistics(workflow, [foreign])).toThrow(RunStatisticsError);
    expect(() => mergeStatistics(workflow, [{ ...a.statistics, bySequence: { nowhere: { generated: 1, forced: 0 } } }])).toThrow(/sequence "nowhere"/);
  });

  it("refuses to lose or repeat an instance", async () => {
    const { workflow } = tinyWorkflow();
    const a = await backend.run(workflow, { batchSize: 2, instances: 2, seed: 1 });
    const b = await backend.run(workflow, { batchSize: 2, instances: 2, seed: 1, firstInstance: 2 });
    const request = { workflow, seed: 1, batchSize: 2, firstInstance: 0, instances: 4, startedAt: new Date() };
    expect(() => mergeRuns([a, a, b], request)).toThrow(RunMergeError);
    expect(() => mergeRuns([a, a, b], request)).toThrow(/instance 0 appears twice/);
    expect(() => mergeRuns([b], request)).toThrow(/instance 0 is missing/);
    expect(() => mergeRuns([a], request)).toThrow(/instances 2…3 are missing/);
  });

  it("fills jobs removed by a cancel with empty interrupted instances", async () => {
    const { workflow } = tinyWorkflow();
    const a = await backend.run(workflow, { batchSize: 2, instances: 2, seed: 1 });
    const request = { workflow, seed: 1, batchSize: 2, firstInstance: 0, instances: 5, startedAt: new Date(), interrupted: true };
    const skipped = unstartedRun(workflow, { firstInstance: 2, instances: 3 }, request);
    const merged = mergeRuns([skipped, a], request);
    expect(merged.streams.map((s) => s.instance)).toEqual([0, 1, 2, 3, 4]);
    expect(merged.streams.slice(2).map((s) => s.status)).toEqual(["interrupted", "interrupted", "interrupted"]);
    expect(merged.extractions.training_data!.slice(2)).toEqual(["", "", ""]);
    expect(merged.statistics.status.interrupted).toBe(3 + a.statistics.status.interrupted);
    expect(merged.statistics.loops[0]!.iterations).toHaveLength(5);
    expect(merged.meta.interrupted).toBe(true);
  });
});
