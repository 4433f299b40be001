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
import { bullConnection, parseRedisUrl } from "../../../../forge/transport/queue/connection.js";
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
async function until<T>(probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing happened within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Ids of the jobs each worker process started, from its log. */
function startedJobs(worker: WorkerProcess): string[] {
  return worker.lines.flatMap((l) => /job (\S+) started/.exec(l)?.[1] ?? []);
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
    // Zones of 60 tokens: a job outlasts the kill on the faster (ONNX) engine too.
    const { config, workflow } = tinyWorkflow(60);
    const options = { batchSize: 4, instances: 24, seed: 3 };
    const direct = await forge.makeSession(backend).request(config, workflow, options);

    const before = new Map(workers.map((w) => [w, startedJobs(w).length]));
    const session = queueSession({ jobInstances: 8 });
    const pending = session.request(config, workflow, options);
    // The first worker to start a job of this request dies 0.7 s into it, before it can finish.
    const victim = await until(() => workers.find((w) => startedJobs(w).length > before.get(w)!), 60_000);
    const killedJob = startedJobs(victim).at(-1)!;
    await new Promise((r) => setTimeout(r, 700));
    await victim.kill("SIGKILL");
    const result = await pending;

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
    // Longer generations than elsewhere: a job's second wave must outlast the cancel's way to the
    // workers (the session's 250 ms poll, then theirs) even on a fast, idle machine.
    const { config, workflow } = tinyWorkflow(60);
    const live = workers.filter((w) => !w.exited);
    const before = live.map((w) => startedJobs(w).length);
    const controller = new AbortController();
    // Jobs of two waves each: a cancel in the first wave finds every running job mid-way.
    const session = queueSession({ jobInstances: 8 });
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
    const removedMessage = "the request was cancelled before this instance started";
    const neverStarted = run.streams.filter((s) => s.message === removedMessage);
    const stopped = run.streams.filter((s) => s.status === "interrupted" && s.message !== removedMessage);
    // 5 jobs of 8, 2 live workers: the jobs running at the cancel stop, the waiting ones are removed.
    const jobsStarted = live.reduce((n, w, i) => n + startedJobs(w).length - before[i]!, 0);
    expect(jobsStarted).toBeGreaterThanOrEqual(1);
    expect(jobsStarted).toBeLessThanOrEqual(3); // a worker may take one more just as the cancel lands (it stops at once)
    expect(neverStarted.length + 8 * jobsStarted).toBe(40);
    expect(run.streams.filter((s) => s.tokens.length > 0).length).toBeLessThanOrEqual(16); // ≤ 2 jobs generated anything
    expect(stopped.length).toBeGreaterThanOrEqual(4); // the second wave of each running job never ran
    // Each running job ended early, as its worker's log says (the line may trail the result by a moment).
    const interruptedJobs = () => live.reduce((n, w) => n + w.lines.filter((l) => / interrupted \(/.test(l)).length, 0);
    await until(() => (interruptedJobs() >= jobsStarted ? true : undefined), 5_000);
    expect(interruptedJobs()).toBe(jobsStarted);
    expect(elapsed).toBeLessThan(30_000);

    // Nothing of this request is left waiting or running.
    const queueConnection = bullConnection(parseRedisUrl(redis.url));
    const queue = new Queue("forge", { connection: queueConnection });
    const counts = await queue.getJobCounts("waiting", "active", "prioritized", "delayed");
    await queue.close();
    queueConnection.disconnect();
    expect(counts).toEqual({ waiting: 0, active: 0, prioritized: 0, delayed: 0 });
  }, 120_000);

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
