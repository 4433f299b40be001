/**
 * The queue-backed ForgeServer: `makeQueueSession("redis://host:6379")` gives a Session whose
 * `request` splits the request into jobs (instance ranges), puts them on a BullMQ queue, lets
 * any number of `forge worker` processes run them, and merges their Runs in instance order —
 * the same Run a direct session returns for the same seed.
 *
 * Stages of `submit`: check options → split (split.ts) → add the jobs → poll them: progress,
 * and each job settled once (completed / failed / removed by a cancel) → merge (merge.ts).
 * Polling rather than BullMQ's QueueEvents: its blocking reader holds a timer that would keep
 * an idle session's process alive, and progress is published every 250 ms anyway.
 * Cancelling (the request's AbortSignal) removes the jobs still waiting and raises the request's
 * cancel flag, which the workers running its jobs poll; the result comes back marked interrupted.
 */
import { Queue, type IRedisClient, type Job } from "bullmq";
import type { ForgeServer } from "../api/session.js";
import { Session } from "../api/session.js";
import type { BackendInfo } from "../api/backend.js";
import type { Progress, ProgressListener } from "../api/ambient.js";
import type { RequestOptions } from "../engine/types.js";
import { RequestError } from "../engine/errors.js";
import type { Run } from "../run/types.js";
import type { SzcpWorkflow } from "../szcp/types.js";
import { bullConnection, closeAll, controlClient } from "./connection.js";
import { decodeJobResult, encodeJobData } from "./codec.js";
import { QueueJobError } from "./errors.js";
import { mergeRuns, unstartedRun, type MergeRequest } from "./merge.js";
import { parseRedisUrl, type RedisTarget, type RespClient } from "./resp.js";
import { splitInstances } from "./split.js";
import { DEFAULT_QUEUE, keys, type JobRange, type QueueJobProgress, type QueueSessionOptions, type WorkerRecord } from "./types.js";

/** How often the unfinished jobs of a request are looked up (progress, completion). */
const POLL_MS = 250;
/** Finished jobs (and their results) stay in Redis this long, then BullMQ drops them. */
const RETAIN_S = 3600;

export class QueueServer implements ForgeServer {
  /** The Redis URL, without its password. */
  readonly address: string;
  readonly queueName: string;
  private readonly target: RedisTarget;
  private opened: Promise<{ queue: Queue; control: RespClient }> | null = null;
  private connections: IRedisClient[] = [];

  constructor(
    url: string,
    private readonly options: QueueSessionOptions = {},
  ) {
    this.target = parseRedisUrl(url);
    this.address = this.target.display;
    this.queueName = options.queue ?? DEFAULT_QUEUE;
  }

  /** Connects on first use; idle connections do not keep the process alive. */
  private open() {
    this.opened ??= (async () => {
      // The plain client first: if Redis is not there, say so, and leave no reconnecting BullMQ client behind.
      const control = await controlClient(this.target, { unref: true }).catch((err: Error) => {
        throw new RequestError(`queue session: ${err.message}`);
      });
      const connection = bullConnection(this.target, { unref: true });
      this.connections.push(connection);
      const queue = new Queue(this.queueName, { connection });
      queue.on("error", () => undefined); // connection trouble surfaces as the failing command's error
      await queue.waitUntilReady();
      return { queue, control };
    })();
    this.opened.catch(() => (this.opened = null));
    return this.opened;
  }

  /** The workers registered on this queue now (each refreshes its record every few seconds). */
  async workers(): Promise<WorkerRecord[]> {
    const { control } = await this.open();
    const names = ((await control.send("KEYS", [keys.workers(this.queueName)])) as string[]).sort();
    const records = (await Promise.all(names.map((k) => control.send("GET", [k])))) as (string | null)[];
    return records.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as WorkerRecord);
  }

  /** The first registered worker's backend (all workers of a queue should serve the same model). */
  async info(): Promise<BackendInfo> {
    const [first] = await this.workers();
    if (!first) throw this.noWorker();
    return first.info;
  }

  async submit(workflow: SzcpWorkflow, options: RequestOptions = {}): Promise<Run> {
    // The sockets are unref'd (an idle session must not keep a script alive): hold the process
    // open while this request runs.
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      return await this.run(workflow, options);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async run(workflow: SzcpWorkflow, options: RequestOptions): Promise<Run> {
    const batchSize = positiveInt(options.batchSize ?? 32, "batchSize");
    const instances = positiveInt(options.instances ?? batchSize, "instances");
    const firstInstance = options.firstInstance ?? 0;
    if (!Number.isInteger(firstInstance) || firstInstance < 0) throw new RequestError(`firstInstance must be an integer ≥ 0, got ${firstInstance}`);
    const ranges = splitInstances(instances, this.options.jobInstances ?? batchSize, firstInstance);
    const { queue, control } = await this.open();
    if ((this.options.requireWorker ?? true) && (await this.workers()).length === 0) throw this.noWorker();

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
        // Waiting jobs first, so that a worker freed by the flag finds nothing of this request left to take.
        await tracker.removeWaiting();
        await control.send("SET", [keys.cancel(this.queueName, requestId), "1", "EX", RETAIN_S]);
        await tracker.poll();
      })();
      return cancelled;
    };
    const onAbort = () => void cancel().catch(() => undefined);
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

  /** Closes this session's Redis connections. */
  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = null;
    if (opened) {
      const { queue, control } = await opened.catch(() => ({ queue: null, control: null }));
      await queue?.close();
      control?.close();
    }
    await closeAll(this.connections.splice(0));
  }

  private noWorker(): RequestError {
    return new RequestError(
      `no Forge worker serves queue "${this.queueName}" at ${this.address}; start one with ` +
        `\`forge worker --redis ${this.address} --queue ${this.queueName}\` (see forge/queue/README.md)`,
    );
  }
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
    for (const p of this.latest.values()) {
      streamsDone += p.streamsDone;
      tokens += p.tokens;
      step += p.step;
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
 * run on the `forge worker` processes serving that queue. `session.server.close()` (a
 * QueueServer) closes its connections; idle, they do not keep the process alive.
 */
export function makeQueueSession(url: string, options: QueueSessionOptions = {}): Session & { server: QueueServer } {
  return new Session(new QueueServer(url, options)) as Session & { server: QueueServer };
}
