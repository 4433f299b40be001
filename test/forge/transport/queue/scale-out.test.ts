/**
 * Scale-out on a real redis-server and real `forge worker` processes on loopback: results do
 * not depend on the partitioning or the number of workers, a worker killed mid-job (SIGKILL)
 * loses and repeats nothing, a worker that cannot load the workflow fails the request with its
 * reason, progress from every worker reaches the session, and cancelling stops the request.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue, QueueEvents } from "bullmq";
import * as forge from "../../../../forge/index.js";
import type { Progress } from "../../../../forge/engine/progress.js";
import type { Run } from "../../../../forge/run/types.js";
import { makeQueueSession, QueueJobError, startQueueWorker, type QueueWorker } from "../../../../forge/transport/queue/index.js";
import { bullConnection, controlClient, parseRedisUrl } from "../../../../forge/transport/queue/connection.js";
import { decodeJobResult, encodeJobData } from "../../../../forge/transport/queue/job-codec.js";
import { keys, type QueueJobProgress } from "../../../../forge/transport/queue/types.js";
import { freePort, saveTestModel, startRedis, tinyWorkflow, WorkerProcess, type RedisProcess } from "./helpers.js";

let redis: RedisProcess;
const model = saveTestModel();
let backend: forge.ForgeBackend;
const workers: WorkerProcess[] = [];
const inProcess: QueueWorker[] = [];
const sessions: { server: { close(): Promise<void> } }[] = [];

// A dead worker's job is taken over after its lock (3 s) runs out; the others look every second.
const WORKER_ARGS = ["--lock-ms", "3000", "--stalled-ms", "1000"];

beforeAll(async () => {
  redis = await startRedis();
  for (const name of ["w1", "w2", "w3"]) workers.push(new WorkerProcess(["--redis", redis.url, "--model", model.dir, "--name", name, ...WORKER_ARGS]));
  backend = await forge.makeBackend(model.dir, undefined, { device: "wasm" });
  await Promise.all(workers.map((w) => w.waitFor(/serving queue "forge"/, 90_000)));
});

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.server.close()));
  await Promise.all(inProcess.map((w) => w.close()));
  await Promise.all(workers.map((w) => w.kill("SIGKILL")));
  await redis?.stop();
  model.remove();
});

function queueSession(options: Parameters<typeof makeQueueSession>[1] = {}) {
  const session = makeQueueSession(redis.url, options);
  sessions.push(session);
  return session;
}

/** What must not depend on who ran the run. */
function samples(run: Run) {
  return { streams: run.streams, extractions: run.extractions, paths: run.paths, statistics: run.statistics };
}

function instanceIds(run: Run): number[] {
  return run.streams.map((s) => s.instance);
}

/** Polls `probe` until it returns something. */
async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing happened within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Ids of the jobs each worker process started, from its log. */
function startedJobs(worker: WorkerProcess): string[] {
  return worker.lines.flatMap((l) => /job (\S+) started/.exec(l)?.[1] ?? []);
}

/** The instances a log line names ("… (instances 16…31)"). */
function loggedInstances(line: string): number[] {
  const m = /instances (\d+)…(\d+)\)/.exec(line);
  if (!m) return [];
  return Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, k) => Number(m[1]) + k);
}

/** A BullMQ Queue on its own connection (closed with it). */
function openQueue(name = "forge") {
  const connection = bullConnection(parseRedisUrl(redis.url));
  const queue = new Queue(name, { connection });
  return {
    queue,
    async close() {
      await queue.close();
      connection.disconnect(); // BullMQ leaves a passed-in connection open
    },
  };
}

describe("forge worker processes behind a BullMQ queue", () => {
  it("gives the direct session's samples on 1 worker or 3, with progress from every worker", async () => {
    const { config, workflow } = tinyWorkflow();
    const options = { batchSize: 4, instances: 12, seed: 7 };
    const direct = await forge.makeSession(backend).request(config, workflow, options);

    // One worker, in this process, on its own queue; the whole request in one job.
    inProcess.push(await startQueueWorker(backend, { redis: redis.url, queue: "solo", log: () => undefined }));
    const solo = await queueSession({ queue: "solo", jobInstances: 12 }).request(config, workflow, options);

    // Three worker processes, jobs of 4 instances; watch which worker reports progress.
    const eventsConnection = bullConnection(parseRedisUrl(redis.url));
    const events = new QueueEvents("forge", { connection: eventsConnection });
    const reporters = new Set<string>();
    events.on("progress", ({ data }) => reporters.add((data as { worker: string }).worker));
    await events.waitUntilReady();
    const reports: Progress[] = [];
    const spread = await queueSession().request(config, workflow, { ...options, onProgress: (p) => reports.push(p) });
    await events.close();
    eventsConnection.disconnect(); // BullMQ leaves a passed-in connection open

    expect(samples(solo.run)).toEqual(samples(direct.run));
    expect(samples(spread.run)).toEqual(samples(direct.run));
    expect(spread.training_data).toEqual(direct.training_data);
    expect(instanceIds(spread.run)).toEqual([...Array(12).keys()]);
    expect(spread.run.meta).toMatchObject({ seed: 7, instances: 12, batchSize: 4, interrupted: false, tokenizer: backend.info().tokenizer });
    // A queued Run's metadata reads like a direct one's: the whole request in one job computes
    // exactly what the direct run computed; spread over jobs, the shared prefix is still its length.
    const work = (meta: forge.RunMetadata) => ({ forwardTokens: meta.forwardTokens, sharedPrefixTokens: meta.sharedPrefixTokens });
    expect(direct.run.meta.forwardTokens).toBeGreaterThan(0);
    expect(work(solo.run.meta)).toEqual(work(direct.run.meta));
    expect(spread.run.meta.sharedPrefixTokens).toBe(direct.run.meta.sharedPrefixTokens);
    expect(spread.run.meta.forwardTokens).toBeGreaterThan(0);

    const ran = workers.filter((w) => startedJobs(w).length > 0).length;
    expect(ran).toBeGreaterThanOrEqual(2);
    expect(reporters.size).toBeGreaterThanOrEqual(2);
    expect(reports.length).toBeGreaterThan(1);
    expect(reports.at(-1)).toMatchObject({ finished: true, streamsDone: 12, streams: 12 });
    expect(reports.every((p) => p.streams === 12)).toBe(true);
    expect(reports.slice(0, -1).every((p) => !p.finished)).toBe(true);
    expect(reports.some((p) => !p.finished && p.tokens > 0)).toBe(true);
    for (let i = 1; i < reports.length; i++) expect(reports[i]!.streamsDone).toBeGreaterThanOrEqual(reports[i - 1]!.streamsDone);
  });

  it("takes over the job of a worker killed with SIGKILL: every instance exactly once, same samples", async () => {
    // Jobs of four waves (8 instances, 2 at a time, zones of 60 tokens): ≈ 1 s on the faster
    // (ONNX) engine, and the kill comes at the job's first progress report (≈ 0.25 s in).
    const { config, workflow } = tinyWorkflow(60);
    const options = { batchSize: 2, instances: 24, seed: 3 };
    const direct = await forge.makeSession(backend).request(config, workflow, options);

    const before = new Map(workers.map((w) => [w, startedJobs(w).length]));
    const session = queueSession({ jobInstances: 8 });
    const pending = session.request(config, workflow, options);
    const victim = await until(() => workers.find((w) => startedJobs(w).length > before.get(w)!), 60_000);
    const killedJob = startedJobs(victim).at(-1)!;
    // Killed mid-job: once its job has generated something, not by a clock.
    const { queue, close } = openQueue();
    const progress = await until(async () => {
      const p = (await queue.getJob(killedJob))?.progress as QueueJobProgress | number | undefined;
      return typeof p === "object" && (p.generatedTokens ?? 0) > 0 ? p : undefined;
    }, 60_000);
    await victim.kill("SIGKILL");
    await close();
    const result = await pending;

    expect(progress.streamsDone).toBeLessThan(8);
    expect(victim.lines.some((l) => l.includes(`job ${killedJob} done`))).toBe(false);
    const takenOverBy = workers.filter((w) => w !== victim && startedJobs(w).includes(killedJob));
    expect(takenOverBy).toHaveLength(1);
    expect(instanceIds(result.run)).toEqual([...Array(24).keys()]);
    expect(samples(result.run)).toEqual(samples(direct.run));
    expect(result.run.meta.interrupted).toBe(false);
  }, 120_000);

  it("fails the request with the worker's reason when it cannot load the workflow (wrong tokenizer)", async () => {
    const { config, workflow } = tinyWorkflow();
    const loaded = await forge.loadModel(model.dir);
    const byteBackend = await forge.makeBackend(loaded.model, new forge.ByteTokenizer(), { device: "wasm" });
    inProcess.push(await startQueueWorker(byteBackend, { redis: redis.url, queue: "bytes", name: "byte-worker", log: () => undefined }));
    const session = queueSession({ queue: "bytes", tokenizer: backend.info().tokenizer });
    const failure = await session.request(config, workflow, { batchSize: 2, instances: 4 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueueJobError);
    expect(failure).toBeInstanceOf(forge.RequestError);
    const message = (failure as Error).message;
    expect(message).toContain("worker byte-worker cannot load the workflow");
    expect(message).toContain(`prepared for tokenizer "${backend.info().tokenizer}"`);
    expect(message).toContain(`this worker's tokenizer is "byte-level/v1"`);
    // Both jobs fail alike; which one the session sees first depends on when it polls.
    expect(message).toMatch(/^the job for instances (0…1|2…3) failed: worker byte-worker/);
  });

  it("cancelling removes the waiting jobs and stops the running ones; the result comes back interrupted", async () => {
    // The cancel's way to the workers: the engine's progress report (every 250 ms), the session's
    // poll (250 ms), then the published cancel (a Redis round trip). Jobs of four waves (16
    // instances, 4 at a time, zones of 60 tokens; a wave ≈ 0.3 s on an idle machine) are mid-way
    // when it lands, so no worker is free to take the third job before it is removed.
    const { config, workflow } = tinyWorkflow(60);
    const live = workers.filter((w) => !w.exited);
    const logStart = live.map((w) => w.lines.length);
    const controller = new AbortController();
    const session = queueSession({ jobInstances: 16 });
    let aborted = false;
    const started = Date.now();
    const result = await session.request(config, workflow, {
      batchSize: 4,
      instances: 40,
      seed: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (!aborted && p.streamsDone >= 1) {
          aborted = true;
          controller.abort();
        }
      },
    });
    const elapsed = Date.now() - started;
    const run = result.run;
    expect(aborted).toBe(true);
    expect(run.meta.interrupted).toBe(true);
    expect(instanceIds(run)).toEqual([...Array(40).keys()]);

    // Each worker's log of this request; the "done"/"interrupted" line may trail the result by a moment.
    const lines = () => live.flatMap((w, i) => w.lines.slice(logStart[i]));
    const startedLines = lines().filter((l) => / started \(/.test(l));
    expect(startedLines.length).toBeGreaterThanOrEqual(1);
    expect(startedLines.length).toBeLessThanOrEqual(live.length);
    await until(() => (lines().filter((l) => / (interrupted|done) \(/.test(l)).length >= startedLines.length ? true : undefined), 5_000);
    // Every job that started was stopped by the cancel, none ran to its end.
    expect(lines().filter((l) => / done \(/.test(l))).toEqual([]);
    expect(lines().filter((l) => / interrupted \(/.test(l))).toHaveLength(startedLines.length);

    // "Stopped" counts sampled tokens: a stream that only had its prompt fed chose nothing. Only
    // instances of the started jobs sampled anything; each of those jobs stopped before its last
    // wave (its last 4 instances never began); the rest were removed unstarted.
    const ran = new Set(startedLines.flatMap(loggedInstances));
    const sampled = run.streams.filter((s) => s.forced.some((f) => f === 0));
    expect(sampled.length).toBeGreaterThanOrEqual(4);
    for (const s of sampled) expect(ran.has(s.instance)).toBe(true);
    for (const line of startedLines) {
      const instances = loggedInstances(line);
      expect(instances).toHaveLength(16);
      const unbegun = run.streams.filter((s) => instances.includes(s.instance) && s.tokens.length === 0);
      expect(unbegun.length).toBeGreaterThanOrEqual(4);
      for (const s of unbegun) expect(s.status).toBe("interrupted");
    }
    // The others: removed while waiting, or (had a worker taken one as the cancel landed) not run.
    const removed = run.streams.filter((s) => s.message === "the request was cancelled before this instance started");
    const notRun = lines().filter((l) => /taken after its request was cancelled: not run/.test(l)).flatMap(loggedInstances);
    expect(removed.length + notRun.length).toBe(40 - ran.size);
    for (const s of run.streams.filter((s) => !ran.has(s.instance))) expect([s.status, s.tokens.length]).toEqual(["interrupted", 0]);
    expect(elapsed).toBeLessThan(30_000);

    // Nothing of this request is left waiting or running.
    const { queue, close } = openQueue();
    const counts = await queue.getJobCounts("waiting", "active", "prioritized", "delayed");
    await close();
    expect(counts).toEqual({ waiting: 0, active: 0, prioritized: 0, delayed: 0 });
  }, 120_000);

  it("a job a worker takes after its request was cancelled runs nothing; a request cancelled before it starts queues nothing", async () => {
    const { config, workflow } = tinyWorkflow(60);
    // The session sets the flag before it removes the waiting jobs; here the job is put after it,
    // as if a worker had taken it between the two.
    const requestId = crypto.randomUUID();
    const control = await controlClient(parseRedisUrl(redis.url));
    await control.set(keys.cancel("forge", requestId), "1", "EX", 60);
    control.disconnect();
    const { queue, close } = openQueue();
    const jobId = `${requestId}-0`;
    await queue.add("run", encodeJobData(requestId, workflow, { batchSize: 4, seed: 1 }, { part: 0, firstInstance: 0, instances: 8 }, 1, undefined), { jobId });
    const state = await until(async () => {
      const s = await queue.getJobState(jobId);
      return s === "completed" || s === "failed" ? s : undefined;
    }, 30_000);
    expect(state).toBe("completed");
    const part = decodeJobResult((await queue.getJob(jobId))!.returnvalue);
    await queue.remove(jobId);
    expect(part.meta.interrupted).toBe(true);
    expect(part.streams.map((s) => [s.instance, s.status, s.tokens.length])).toEqual([...Array(8).keys()].map((i) => [i, "interrupted", 0]));
    const taker = await until(() => workers.find((w) => w.lines.some((l) => l.includes(`job ${jobId} taken after its request was cancelled: not run`))), 5_000);
    expect(taker.lines.some((l) => l.includes(`job ${jobId} started`))).toBe(false);

    // Aborted before the request: no job is queued (an idle worker would take it before any flag).
    const controller = new AbortController();
    controller.abort();
    const countsBefore = await queue.getJobCounts("waiting", "active", "completed", "failed");
    const linesBefore = workers.map((w) => w.lines.length);
    const cancelled = await queueSession().request(config, workflow, { batchSize: 4, instances: 8, seed: 1, signal: controller.signal });
    const counts = await queue.getJobCounts("waiting", "active", "completed", "failed");
    await close();
    expect(cancelled.run.meta.interrupted).toBe(true);
    expect(cancelled.run.streams.map((s) => [s.status, s.tokens.length])).toEqual(Array(8).fill(["interrupted", 0]));
    expect(counts).toEqual(countsBefore);
    expect(workers.flatMap((w, i) => w.lines.slice(linesBefore[i]))).toEqual([]);
  }, 60_000);

  it("says so when Redis or a worker is not there, and info() reports a worker's backend", async () => {
    const { config, workflow } = tinyWorkflow();
    await expect(queueSession({ queue: "nobody" }).request(config, workflow, { instances: 2 })).rejects.toThrow(
      /no Forge worker serves queue "nobody" at redis:\/\/127\.0\.0\.1:\d+\/?; start one with `forge worker --redis/,
    );
    const port = await freePort();
    const nowhere = makeQueueSession(`redis://127.0.0.1:${port}`);
    await expect(nowhere.request(config, workflow, { instances: 2 })).rejects.toThrow(
      new RegExp(`queue session: cannot connect to Redis at redis://127\\.0\\.0\\.1:${port}: ECONNREFUSED`),
    );
    const info = await queueSession().server.info();
    expect(info.tokenizer).toBe(backend.info().tokenizer);
    expect(info.vocabSize).toBe(257);
  });

  it("an idle session does not keep its process alive, nor does one that could not connect", async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "test/forge/transport/queue/fixtures/request-and-exit.ts", redis.url, nowhere], { encoding: "utf8", timeout: 60_000 });
    expect(child.stdout).toContain("got 2 streams");
    expect(child.stdout).toContain(`then: queue session: cannot connect to Redis at ${nowhere}: ECONNREFUSED`);
    expect(child.signal).toBeNull(); // not killed by the timeout
    expect(child.status).toBe(0);
  });

  it("forge worker refuses bad arguments with a usage line, not a stack trace", () => {
    const run = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "forge/transport/queue/worker-main.ts", ...args], { encoding: "utf8", timeout: 60_000 });
    const missing = run([]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("forge worker: --redis is required");
    expect(missing.stderr).toContain("usage: forge worker --redis");
    const bad = run(["worker", "--redis", "http://x", "--concurrency", "2"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--redis: the Redis URL must start with redis:\/\//);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
