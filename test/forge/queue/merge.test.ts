/**
 * Splitting a request, carrying jobs and results across Redis (as JSON text) and merging the
 * parts: on real runs of a small random model, the merge of partition runs equals one run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import type { Run } from "../../../forge/run/types.js";
import {
  decodeJobData,
  decodeJobResult,
  encodeJobData,
  encodeJobResult,
  mergeRuns,
  QueueMergeError,
  splitInstances,
  unstartedRun,
} from "../../../forge/queue/index.js";
import { saveTestModel, tinyWorkflow } from "./helpers.js";

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

describe("splitInstances", () => {
  it("covers the range with contiguous jobs of at most perJob instances", () => {
    expect(splitInstances(10, 4, 3)).toEqual([
      { part: 0, firstInstance: 3, instances: 4 },
      { part: 1, firstInstance: 7, instances: 4 },
      { part: 2, firstInstance: 11, instances: 2 },
    ]);
    expect(splitInstances(3, 8)).toEqual([{ part: 0, firstInstance: 0, instances: 3 }]);
    expect(() => splitInstances(0, 4)).toThrow(/instances must be a positive integer, got 0/);
    expect(() => splitInstances(4, 1.5)).toThrow(/jobInstances must be a positive integer, got 1.5/);
  });
});

describe("job data and results across Redis", () => {
  it("round-trips a real Run through JSON text, typed arrays exact", async () => {
    const { workflow } = tinyWorkflow();
    const run = await backend.run(workflow, { batchSize: 3, instances: 3, seed: 2 });
    const back = decodeJobResult(JSON.stringify(encodeJobResult(run)));
    expect(back).toEqual(run);
    expect(back.streams[0]!.tokens).toBeInstanceOf(Int32Array);
    expect(back.streams[0]!.pcs).toBeInstanceOf(Int32Array);
    expect(back.streams[0]!.forced).toBeInstanceOf(Uint8Array);
    expect(Array.from(back.streams[1]!.tokens)).toEqual(Array.from(run.streams[1]!.tokens));
  });

  it("carries the range, seed and sampling of a job and refuses foreign data, saying where", () => {
    const { workflow } = tinyWorkflow();
    const data = encodeJobData("req", workflow, { batchSize: 4, instances: 99, seed: 9, temperature: 0.5 }, { part: 1, firstInstance: 4, instances: 4 }, 3, "tok/1");
    const { data: back, workflow: wf } = decodeJobData(JSON.parse(JSON.stringify(data)));
    expect(back).toMatchObject({ requestId: "req", part: 1, parts: 3, firstInstance: 4, instances: 4, tokenizer: "tok/1" });
    expect(back.options).toEqual({ batchSize: 4, seed: 9, temperature: 0.5 });
    expect(wf).toEqual(workflow);
    expect(() => decodeJobData({ ...data, instances: 0 })).toThrow(/not a Forge job \(at \$\.instances: /);
    expect(() => decodeJobData({ hello: 1 })).toThrow(/not a Forge job \(at \$\.format: /);
    expect(() => decodeJobData({ ...data, workflow: { ...data.workflow, zones: 3 } })).toThrow(/zones/);
  });
});

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
  });

  it("refuses to lose or repeat an instance", async () => {
    const { workflow } = tinyWorkflow();
    const a = await backend.run(workflow, { batchSize: 2, instances: 2, seed: 1 });
    const b = await backend.run(workflow, { batchSize: 2, instances: 2, seed: 1, firstInstance: 2 });
    const request = { workflow, seed: 1, batchSize: 2, firstInstance: 0, instances: 4, startedAt: new Date() };
    expect(() => mergeRuns([a, a, b], request)).toThrow(QueueMergeError);
    expect(() => mergeRuns([a, a, b], request)).toThrow(/instance 0 appears twice/);
    expect(() => mergeRuns([b], request)).toThrow(/instance 0 is missing/);
    expect(() => mergeRuns([a], request)).toThrow(/instances 2…3 are missing/);
  });

  it("fills jobs removed by a cancel with empty interrupted instances", async () => {
    const { workflow } = tinyWorkflow();
    const a = await backend.run(workflow, { batchSize: 2, instances: 2, seed: 1 });
    const request = { workflow, seed: 1, batchSize: 2, firstInstance: 0, instances: 5, startedAt: new Date(), interrupted: true };
    const skipped = unstartedRun(workflow, { part: 1, firstInstance: 2, instances: 3 }, request);
    const merged = mergeRuns([skipped, a], request);
    expect(merged.streams.map((s) => s.instance)).toEqual([0, 1, 2, 3, 4]);
    expect(merged.streams.slice(2).map((s) => s.status)).toEqual(["interrupted", "interrupted", "interrupted"]);
    expect(merged.extractions.training_data!.slice(2)).toEqual(["", "", ""]);
    expect(merged.statistics.status.interrupted).toBe(3 + a.statistics.status.interrupted);
    expect(merged.statistics.loops[0]!.iterations).toHaveLength(5);
    expect(merged.meta.interrupted).toBe(true);
  });
});
