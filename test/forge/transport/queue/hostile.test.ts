/**
 * Issue #15 item 1 over the queue: a worker validates what it takes off Redis as the HTTP
 * server validates a request (SZCP_LIMITS, plus QUEUE_JOB_LIMITS on the job's own numbers),
 * and fails such a job at once, naming the field and the limit, without running it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { SZCP_LIMITS, isSealed } from "../../../../forge/szcp/index.js";
import { compileCacheStats } from "../../../../forge/ttfa/index.js";
import { QUEUE_JOB_LIMITS, bullConnection, decodeJobData, decodeJobResult, encodeJobData, parseRedisUrl, startQueueWorker, type QueueWorker } from "../../../../forge/transport/queue/index.js";
import { seedExample, testBackend } from "../http/helpers.js";
import { startRedis, type RedisProcess } from "./helpers.js";

const workflow = seedExample(4).factory();
const jobData = (change: (data: Record<string, any>) => void = () => {}) => {
  const data = structuredClone(encodeJobData("r1", workflow, { batchSize: 2, seed: 1 }, { part: 0, firstInstance: 0, instances: 2 }, 1, undefined)) as Record<string, any>;
  change(data);
  return data;
};

describe("decodeJobData (what a worker takes off Redis)", () => {
  it("refuses SZCP fields over SZCP_LIMITS, naming $.workflow's path and the limit", () => {
    expect(() => decodeJobData(jobData((d) => (d.workflow.counters = 2e9)))).toThrow(
      `invalid SZCP workflow at $.workflow.counters: too large: 2000000000 is over the limit (SZCP_LIMITS.maxCounters = ${SZCP_LIMITS.maxCounters})`,
    );
    expect(() => decodeJobData(jobData((d) => (d.workflow.config.controlToken = "J".repeat(195_000))))).toThrow(/at \$\.workflow\.config\.controlToken: .*SZCP_LIMITS\.maxPatternBytes = 64/);
    expect(() => decodeJobData(jobData((d) => (d.workflow.extractions = [{ name: "__proto__", tags: ["answer"] }])))).toThrow(/at \$\.workflow\.extractions\[0\]\.name: the extraction name "__proto__" is reserved/);
  });

  it("refuses the job's own numbers over QUEUE_JOB_LIMITS and unknown options", () => {
    expect(() => decodeJobData(jobData((d) => (d.instances = 1e15)))).toThrow(`at $.instances: over the limit (QUEUE_JOB_LIMITS.maxJobInstances = ${QUEUE_JOB_LIMITS.maxJobInstances})`);
    expect(() => decodeJobData(jobData((d) => (d.options.batchSize = 1e9)))).toThrow(/at \$\.options\.batchSize: over the limit \(QUEUE_JOB_LIMITS\.maxBatchSize/);
    expect(() => decodeJobData(jobData((d) => (d.options.evil = 1)))).toThrow(/at \$\.options\.evil/);
  });

  it("seals what it accepts, so the worker's check and run compile it once", async () => {
    const backend = await testBackend();
    const { workflow: decoded } = decodeJobData(jobData((d) => (d.workflow.meta = { nonce: String(Math.random()) })));
    expect(isSealed(decoded) && Object.isFrozen(decoded.zones[0])).toBe(true);
    const before = compileCacheStats();
    backend.check(decoded);
    await backend.run(decoded, { batchSize: 2, instances: 2, maxTokens: 32 });
    const after = compileCacheStats();
    expect([after.misses - before.misses, after.hits - before.hits]).toEqual([1, 1]);
  });
});

describe("a worker against a real redis-server", () => {
  let redis: RedisProcess;
  let worker: QueueWorker;
  let queue: Queue;
  const lines: string[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    const backend = await testBackend();
    worker = await startQueueWorker(backend, { redis: redis.url, queue: "hostile", name: "w1", log: (line) => lines.push(line) });
    queue = new Queue("hostile", { connection: bullConnection(parseRedisUrl(redis.url)) });
  });
  afterAll(async () => {
    await queue?.close();
    await worker?.close();
    await redis?.stop();
  });

  async function failure(id: string, data: unknown): Promise<string> {
    await queue.add("job", data, { jobId: id });
    for (let i = 0; i < 200; i++) {
      const state = await (await queue.getJob(id))?.getState();
      if (state === "failed") return (await queue.getJob(id))!.failedReason;
      if (state === "completed") return "completed";
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return "still waiting after 20 s";
  }

  it("fails a hostile job at once, naming the field and the limit (was: ran it, 'Invalid typed array length')", async () => {
    const reason = await failure("counters", jobData((d) => (d.workflow.counters = 1e15)));
    expect(reason).toContain(`at $.workflow.counters: too large: 1000000000000000 is over the limit (SZCP_LIMITS.maxCounters = ${SZCP_LIMITS.maxCounters})`);
    expect(lines.some((line) => line.includes("job counters started"))).toBe(false);
    const instances = await failure("instances", jobData((d) => (d.instances = 1e15)));
    expect(instances).toContain("QUEUE_JOB_LIMITS.maxJobInstances");
    // Options are checked with the request-options schema the HTTP server admits with: a misspelt
    // or out-of-range option fails the job at once, naming it, instead of being spread into the run.
    const misspelt = await failure("misspelt", jobData((d) => Object.assign(d.options, { temprature: 0.5 })));
    expect(misspelt).toContain("the job's request options are invalid (at $.options.temprature:");
    const topP = await failure("topP", jobData((d) => Object.assign(d.options, { topP: 7 })));
    expect(topP).toContain("at $.options.topP:");
    expect(lines.some((line) => /job (misspelt|topP) started/.test(line))).toBe(false);
  });

  it("still runs a valid job", async () => {
    await queue.add("job", jobData(), { jobId: "valid" });
    let state = "";
    for (let i = 0; i < 300 && state !== "completed" && state !== "failed"; i++) {
      state = (await (await queue.getJob("valid"))?.getState()) ?? "";
      if (state !== "completed") await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(state).toBe("completed");
    const result = decodeJobResult((await queue.getJob("valid"))!.returnvalue);
    expect(result.streams).toHaveLength(2);
  });
});
