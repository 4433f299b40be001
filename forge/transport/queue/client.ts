/**
 * The queue's client, a ForgeServer: `makeQueueSession("redis://host:6379")` gives a Session whose
 * `request` splits the request into jobs (instance ranges), puts them on a BullMQ queue, lets
 * any number of `forge worker` processes run them, and merges their Runs in instance order —
 * the same Run a direct session returns for the same seed.
 *
 * Stages of `submit`: check options → split (split.ts) → add the jobs → poll them: progress,
 * and each job settled once (completed / failed / removed by a cancel) → merge (forge/run/merge.ts).
 * Polling rather than BullMQ's QueueEvents: it would hold one more (blocking) connection per
 * session, and progress is published every 250 ms anyway.
 * Cancelling (the request's AbortSignal) raises the request's cancel flag (a worker that takes one
 * of its jobs later runs nothing), publishes the cancel (the workers running its jobs stop at
 * once) and removes the jobs still waiting; the result comes back marked interrupted. A request
 * cancelled before it was submitted puts no job on the queue.
 *
 * Connections: the session opens them (ioredis, connection.ts) when a call needs them and
 * closes them when the last call in progress ends, so an idle session holds no socket and never
 * keeps a script's process alive; the next call reconnects (a few milliseconds on a LAN).
 */
import type { IRedisClient, Job, Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { BackendInfo, ForgeServer } from "../../session/contract.js";
import { Session } from "../../session/session.js";
import type { Progress, ProgressListener } from "../../engine/progress.js";
import type { RequestOptions } from "../../engine/options.js";
import { RequestError } from "../../engine/errors.js";
import type { Run } from "../../run/types.js";
import type { SzcpWorkflow } from "../../szcp/types.js";
import { bullmq } from "./drivers.js";
import { bullConnection, closeAll, controlClient, parseRedisUrl, type RedisTarget } from "./connection.js";
import { mergeRuns, unstartedRun, type MergeRequest } from "../../run/merge.js";
import { decodeJobResult, encodeJobData } from "./job-codec.js";
import { QueueJobError } from "./errors.js";
import { splitInstances } from "./split.js";
import { DEFAULT_QUEUE, keys, type JobRange, type QueueJobProgress, type QueueSessionOptions, type WorkerRecord } from "./types.js";

/** How often the unfinished jobs of a request are looked up (progress, completion). */
const POLL_MS = 250;
/** Finished jobs (and their results) stay in Redis this long, then BullMQ drops them. */
const RETAIN_S = 3600;
/** Reconnect attempts a session's command waits through (≈ 10 s of ioredis back-off) before the request fails. */
const SESSION_RETRIES = 20;

/** A session's open connections: a BullMQ Queue on its own client, and a plain client for Forge's keys. */
interface Connections {
  queue: Queue;
  bull: IRedisClient;
  control: Redis;
}

export class QueueClient implements ForgeServer {
  /** The Redis URL, without its password. */
  readonly address: string;
  readonly queueName: string;
  private readonly target: RedisTarget;
  private connections: Promise<Connections> | null = null;
  /** Calls in progress that use the connections; the last one out closes them. */
  private users = 0;
  /** The latest closing of connections; a new open waits for it. */
  private closing: Promise<void> = Promise.resolve();

  constructor(
    url: string,
    private readonly options: QueueSessionOptions = {},
  ) {
    this.target = parseRedisUrl(url);
    this.address = this.target.display;
    this.queueName = options.queue ?? DEFAULT_QUEUE;
  }

  /** Runs `work` on the session's connections (opened if need be); the last call out closes them. */
  private async withConnections<T>(work: (connections: Connections) => Promise<T>): Promise<T> {
    this.users++;
    try {
      return await work(await this.open());
    } finally {
      if (--this.users === 0) void this.release();
    }
  }

  private open(): Promise<Connections> {
    if (this.connections) return this.connections;
    const opening = (async () => {
      await this.closing;
      // The plain client first: if Redis is not there or refuses the login, say so, and leave no
      // reconnecting BullMQ client behind.
      const control = await controlClient(this.target).catch((err: Error) => {
        throw new RequestError(`queue session: ${err.message}`);
      });
      const bull = bullConnection(this.target, { retries: SESSION_RETRIES });
      const queue = new (bullmq().Queue)(this.queueName, { connection: bull });
      queue.on("error", () => undefined); // connection trouble surfaces as the failing command's error
      try {
        await queue.waitUntilReady();
      } catch (err) {
        await closeConnections({ queue, bull, control });
        throw new RequestError(`queue session: Redis at ${this.address}: ${(err as Error).message}`);
      }
      return { queue, bull, control };
    })();
    this.connections = opening;
    opening.catch(() => {
      if (this.connections === opening) this.connections = null; // the next call tries again
    });
    return opening;
  }

  /** Closes the open connections (if any) after any earlier closing. */
  private release(): Promise<void> {
    const opened = this.connections;
    this.connections = null;
    const previous = this.closing;
    this.closing = (async () => {
      await previous;
      const connections = await opened?.catch(() => null);
      if (connections) await closeConnections(connections);
    })();
    return this.closing;
  }

  /** The workers registered on this queue now (each refreshes its record every few seconds). */
  workers(): Promise<WorkerRecord[]> {
    return this.withConnections(async ({ control }) => {
      const names = (await control.keys(keys.workers(this.queueName))).sort();
      const records = names.length === 0 ? [] : await control.mget(names);
      return records.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as WorkerRecord);
    });
  }

  /** The first registered worker's backend (all workers of a queue should serve the same model). */
  async info(): Promise<BackendInfo> {
    const [first] = await this.workers();
    if (!first) throw this.noWorker();
    return first.info;
  }

  async submit(workflow: SzcpWorkflow, options: RequestOptions = {}): Promise<Run> {
    // Jobs are instance ranges merged back in order; a replay's streams (any instances, repeats allowed) are not a range.
    if (options.replay !== undefined)
      throw new RequestError("replay is not split over queue workers: replay through a direct session (makeSession(backend)) or an HTTP one (makeSession(url))");
    const batchSize = positiveInt(options.batchSize ?? 32, "batchSize");
    const instances = positiveInt(options.instances ?? batchSize, "instances");
    const firstInstance = options.firstInstance ?? 0;
    if (!Number.isInteger(firstInstance) || firstInstance < 0) throw new RequestError(`firstInstance must be an integer ≥ 0, got ${firstInstance}`);
    const ranges = splitInstances(instances, this.options.jobInstances ?? batchSize, firstInstance);
    return this.withConnections(async ({ queue, control }) => {
      if ((this.options.requireWorker ?? true) && (await this.workers()).length === 0) throw this.noWorker();
      return this.run(queue, control, workflow, options, { batchSize, instances, firstInstance, ranges });
    });
  }

  private async run(
    queue: Queue,
    control: Redis,
    workflow: SzcpWorkflow,
    options: RequestOptions,
    { batchSize, instances, firstInstance, ranges }: { batchSize: number; instances: number; firstInstance: number; ranges: JobRange[] },
  ): Promise<Run> {
    const requestId = crypto.randomUUID();
    const tokenizer = this.options.tokenizer ?? workflow.meta.tokenizer;
    const merge: MergeRequest = { workflow, seed: options.seed ?? 0, batchSize, firstInstance, instances, startedAt: new Date() };
    const jobId = (range: JobRange) => `${requestId}-${range.part}`;
    const progress = new ProgressMerger(ranges, options.onProgress);
    const tracker = new JobTracker(queue, ranges, jobId, (range) => unstartedRun(workflow, range, merge), (id, p) => progress.report(id, p));
    let cancelled: Promise<void> | null = null;
    const cancel = () => {
      cancelled ??= (async () => {
        merge.interrupted = true;
        // The flag first: a job a worker takes from now on runs nothing (workers look at the flag
        // when a job starts); then the message that stops the running ones; then the waiting jobs go.
        await control.set(keys.cancel(this.queueName, requestId), "1", "EX", RETAIN_S);
        await control.publish(keys.cancels(this.queueName), requestId);
        await tracker.removeWaiting();
        await tracker.poll();
      })();
      return cancelled;
    };
    const onAbort = () => void cancel().catch(() => undefined);
    if (options.signal?.aborted) {
      // Cancelled before anything was queued: idle workers would take the jobs before the flag is up.
      merge.interrupted = true;
      const run = mergeRuns(ranges.map((range) => unstartedRun(workflow, range, merge)), merge);
      progress.finish();
      return run;
    }
    try {
      await queue.addBulk(
        ranges.map((range) => ({
          name: "run",
          data: encodeJobData(requestId, workflow, options, range, ranges.length, tokenizer),
          opts: { jobId: jobId(range), removeOnComplete: { age: RETAIN_S }, removeOnFail: { age: RETAIN_S } },
        })),
      );
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener("abort", onAbort, { once: true });
      let parts: Run[];
      try {
        parts = await tracker.settled();
      } catch (err) {
        // One job failed: the request fails; stop the rest of its jobs.
        await cancel().catch(() => undefined);
        throw err;
      }
      await (cancelled as Promise<void> | null)?.catch(() => undefined); // a cancel that could not reach Redis still returns what ran
      const run = mergeRuns(parts, merge);
      progress.finish();
      return run;
    } finally {
      tracker.stop();
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Closes this session's Redis connections now (they also close by themselves when the session is idle). */
  close(): Promise<void> {
    return this.release();
  }

  private noWorker(): RequestError {
    return new RequestError(
      `no Forge worker serves queue "${this.queueName}" at ${this.address}; start one with ` +
        `\`forge worker --redis ${this.address} --queue ${this.queueName}\` (see forge/transport/queue/README.md)`,
    );
  }
}

async function closeConnections({ queue, bull, control }: Connections): Promise<void> {
  await queue.close().catch(() => undefined);
  closeAll([bull]);
  control.disconnect();
}

/**
 * Settles each job of a request once: completed (its Run), failed (QueueJobError with the
 * worker's reason) or removed by a cancel before it started (an interrupted, empty Run).
 * A timer looks the unsettled jobs up; a running job's latest progress goes to `onProgress`.
 */
class JobTracker {
  private readonly results = new Map<number, Run>();
  private readonly removed = new Set<number>();
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;

  constructor(
    private readonly queue: Queue,
    private readonly ranges: JobRange[],
    private readonly jobId: (range: JobRange) => string,
    private readonly unstarted: (range: JobRange) => Run,
    private readonly onProgress: (jobId: string, progress: QueueJobProgress) => void,
  ) {}

  async settled(): Promise<Run[]> {
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    for (;;) {
      await this.poll();
      if (this.failure) throw this.failure;
      if (this.results.size === this.ranges.length) return this.ranges.map((r) => this.results.get(r.part)!);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.wake?.();
  }

  /** Looks up the unsettled jobs (one look-up at a time). */
  poll(): Promise<void> {
    this.polling ??= this.lookUp()
      .catch((err: Error) => void (this.failure ??= err))
      .finally(() => {
        this.polling = null;
        this.wake?.();
      });
    return this.polling;
  }

  private async lookUp(): Promise<void> {
    for (const range of this.ranges) {
      if (this.results.has(range.part)) continue;
      const id = this.jobId(range);
      // State first: once completed or failed, the job's fields no longer change.
      const state = await this.queue.getJobState(id);
      if (state === "unknown") {
        if (this.removed.has(range.part)) this.results.set(range.part, this.unstarted(range));
        else this.failure ??= new RequestError(`the job ${id} disappeared from the queue (removed by someone else?)`);
        continue;
      }
      const job = (await this.queue.getJob(id)) as Job | undefined;
      if (!job) continue; // removed between the two look-ups: settled on the next round
      if (state === "completed") {
        this.results.set(range.part, decodeJobResult(job.returnvalue));
        await job.remove().catch(() => undefined); // read once: free Redis of the result now
      } else if (state === "failed") {
        const last = range.firstInstance + range.instances - 1;
        this.failure ??= new QueueJobError(
          `the job for instances ${range.firstInstance}…${last} failed: ${job.failedReason || "no reason given"}`,
          id,
          range.firstInstance,
          range.instances,
        );
      } else if (typeof job.progress === "object" && job.progress !== null) {
        this.onProgress(id, job.progress as unknown as QueueJobProgress);
      }
    }
  }

  /** Removes the jobs not yet taken by a worker; running ones stop on the cancel flag. */
  async removeWaiting(): Promise<void> {
    for (const range of this.ranges) {
      if (this.results.has(range.part)) continue;
      const state = await this.queue.getJobState(this.jobId(range));
      if (state !== "waiting" && state !== "prioritized" && state !== "delayed") continue;
      this.removed.add(range.part);
      if ((await this.queue.remove(this.jobId(range))) === 0) this.removed.delete(range.part); // taken meanwhile
    }
    await this.poll();
  }
}

/** Folds the workers' per-job progress into one report for the whole request. */
class ProgressMerger {
  private readonly latest = new Map<string, QueueJobProgress>();
  private readonly streams: number;
  private readonly started = performance.now();

  constructor(
    ranges: JobRange[],
    private readonly listener: ProgressListener | undefined,
  ) {
    this.streams = ranges.reduce((n, r) => n + r.instances, 0);
  }

  report(jobId: string, progress: QueueJobProgress): void {
    if (typeof progress !== "object" || progress === null || typeof progress.streamsDone !== "number") return;
    const before = this.latest.get(jobId);
    if (before && before.step === progress.step && before.streamsDone === progress.streamsDone) return; // polled again, nothing new
    this.latest.set(jobId, progress);
    this.listener?.(this.snapshot(false));
  }

  finish(): void {
    this.listener?.(this.snapshot(true));
  }

  private snapshot(finished: boolean): Progress {
    let streamsDone = 0;
    let tokens = 0;
    let step = 0;
    let generatedTokens = 0;
    let forcedTokens = 0;
    let workDone = 0; // streams' worth of work, from each job's fraction
    for (const p of this.latest.values()) {
      streamsDone += p.streamsDone;
      tokens += p.tokens;
      step += p.step;
      generatedTokens += p.generatedTokens ?? 0;
      forcedTokens += p.forcedTokens ?? 0;
      workDone += (p.fraction ?? p.streamsDone / Math.max(1, p.streams)) * p.streams;
    }
    if (finished) streamsDone = this.streams;
    const elapsedMs = performance.now() - this.started;
    const perStream = streamsDone > 0 ? elapsedMs / streamsDone : null;
    return {
      streamsDone,
      streams: this.streams,
      step,
      tokens,
      tokensPerSecond: elapsedMs > 0 ? (tokens * 1000) / elapsedMs : 0,
      generatedTokens,
      forcedTokens,
      generatedTokensPerSecond: elapsedMs > 0 ? (generatedTokens * 1000) / elapsedMs : 0,
      fraction: finished ? 1 : this.latest.size > 0 ? Math.min(1, workDone / Math.max(1, this.streams)) : null,
      elapsedMs,
      etaMs: finished ? 0 : perStream === null ? null : perStream * (this.streams - streamsDone),
      finished,
    };
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RequestError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * `makeQueueSession("redis://127.0.0.1:6379", { queue: "forge" })`: a Session whose requests
 * run on the `forge worker` processes serving that queue. The session holds connections only
 * while a call is in progress, so it never keeps the process alive; `session.server.close()`
 * (a QueueClient) closes them at once.
 */
export function makeQueueSession(url: string, options: QueueSessionOptions = {}): Session & { server: QueueClient } {
  return new Session(new QueueClient(url, options)) as Session & { server: QueueClient };
}
