/**
 * Splitting a request and carrying its jobs and results across Redis (as JSON text), on real
 * runs of a small random model; job options are checked with the one request-options schema.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../../forge/index.js";
import { decodeJobData, decodeJobResult, encodeJobData, encodeJobResult, QueueJobDataError, splitInstances } from "../../../../forge/transport/queue/index.js";
import { saveTestModel, tinyWorkflow } from "./helpers.js";

const model = saveTestModel();
let backend: forge.ForgeBackend;
beforeAll(async () => {
  backend = await forge.makeBackend(model.dir, undefined, { device: "wasm" });
});
afterAll(() => model.remove());

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

  it("validates a job's options with the request-options schema and refuses a bad one as a ForgeError naming the field", () => {
    const { workflow } = tinyWorkflow();
    const data = encodeJobData("req", workflow, { batchSize: 2 }, { part: 0, firstInstance: 0, instances: 2 }, 1, undefined);
    const refused = (options: unknown) => {
      try {
        decodeJobData({ ...JSON.parse(JSON.stringify(data)), options });
      } catch (err) {
        return err;
      }
      return null;
    };
    const unknown = refused({ batchSize: 2, batchsize: 3 });
    expect(unknown).toBeInstanceOf(QueueJobDataError);
    expect(unknown).toBeInstanceOf(forge.ForgeError);
    expect((unknown as QueueJobDataError).code).toBe("queue_job_invalid");
    expect((unknown as QueueJobDataError).where).toBe("$.options.batchsize");
    expect((unknown as Error).message).toMatch(/request options are invalid \(at \$\.options\.batchsize: /);
    expect((refused({ topP: 1.5 }) as QueueJobDataError).where).toBe("$.options.topP");
    expect((refused({ automaton: "gpu" }) as QueueJobDataError).where).toBe("$.options.automaton");
    expect((refused({ feedChunk: 65 }) as QueueJobDataError).where).toBe("$.options.feedChunk");
    // The HTTP server refuses the same options with the same schema (forge/engine/options.ts).
    expect(forge.requestOptionsSchema.safeParse({ topP: 1.5 }).success).toBe(false);
    expect(refused({ batchSize: 2, seed: 3, greedy: true, feedChunk: 4, automaton: "host" })).toBeNull();
  });
});
