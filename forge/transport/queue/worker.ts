/**
 * A Forge queue worker: takes jobs (instance ranges of a request) from the BullMQ queue, runs
 * them on its backend and returns their Runs. One per machine or accelerator; start it with
 * `forge worker --redis redis://host:6379` (worker-main.ts) or `startQueueWorker(...)`.
 *
 * Per job: check the data and the workflow (a job this worker cannot run fails at once, with
 * the reason, and is not retried) → look at the request's cancel flag (a job taken after its
 * request was cancelled runs nothing) → run it, publishing progress; a cancel published on the
 * queue's channel stops it at once → return the Run (trace columns base64-encoded). A worker that dies mid-job
 * stops renewing the job's lock; another worker's stalled-job check puts the job back in the
 * queue and it runs again from the start (same seed, same instances, same samples).
 */
import { hostname } from "node:os";
import type { IRedisClient, Job } from "bullmq";
import type { Redis } from "ioredis";
import type { ForgeBackend } from "../../session/backend.js";
import type { QueueJobProgress, QueueWorkerOptions, WorkerRecord } from "./types.js";
import { DEFAULT_QUEUE, keys } from "./types.js";
import { bullConnection, closeAll, controlClient, parseRedisUrl } from "./connection.js";
import { bullmq } from "./drivers.js";
import { decodeJobData, encodeJobResult } from "./job-codec.js";
import type { QueueJobResult } from "./types.js";

/**
 * How often a running job also looks at its request's cancel flag: the published cancel stops it
 * at once; the flag covers a message lost while the subscriber reconnected.
 */
const CANCEL_POLL_MS = 1000;
/** The worker's registry record lives this long unless refreshed (every third of it). */
const RECORD_TTL_S = 15;

export interface QueueWorker {
  readonly name: string;
  readonly queue: string;
  /** Stops taking jobs, waits for the running ones, unregisters, closes the connections. */
  close(): Promise<void>;
}

/** Starts a worker serving `options.queue` with `backend`; resolves once it is connected and registered. */
export async function startQueueWorker(backend: ForgeBackend, options: QueueWorkerOptions): Promise<QueueWorker> {
  const target = parseRedisUrl(options.redis);
  const queue = options.queue ?? DEFAULT_QUEUE;
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const info = backend.info();
  // The plain client first: a Redis that is not there or refuses the login fails the start, with the reason.
  const control = await controlClient(target);
  // No retry limit: a worker's commands wait for Redis to come back (BullMQ requires it of a Worker).
  const connections: IRedisClient[] = [bullConnection(target)];

  const record: WorkerRecord = { name, queue, pid: process.pid, startedAt: new Date().toISOString(), info };
  const register = () => control.set(keys.worker(queue, name), JSON.stringify(record), "EX", RECORD_TTL_S);
  await register();
  // Cancels arrive on their own connection (a subscribed client can do nothing else). It is
  // subscribed before the worker takes any job: a job taken before its request's cancel flag was
  // set gets the published cancel; one taken after sees the flag when it starts (runJob).
  const running: RunningJobs = new Map();
  const subscriber = await controlClient(target).catch((err: unknown) => {
    control.disconnect();
    closeAll(connections);
    throw err;
  });
  subscriber.on("message", (_channel: string, requestId: string) => running.get(requestId)?.forEach((c) => c.abort()));
  await subscriber.subscribe(keys.cancels(queue));
  const heartbeat = setInterval(() => void register().catch(() => undefined), (RECORD_TTL_S * 1000) / 3);

  const processor = async (job: Job, _token?: string, signal?: AbortSignal): Promise<QueueJobResult> => {
    return runJob(job, signal, { backend, control, queue, name, log, tokenizer: info.tokenizer, running });
  };
  const worker = new (bullmq().Worker)(queue, processor, {
    connection: connections[0]!,
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: 1,
  });
  worker.on("error", (err) => log(`worker ${name}: ${err.message}`));
  worker.on("failed", (job, err) => log(`worker ${name}: job ${job?.id ?? "?"} failed: ${err.message}`));
  await worker.waitUntilReady();
  log(`worker ${name}: serving queue "${queue}" at ${target.display} with ${info.model} (${info.tokenizer}, ${info.backend})`);

  let closing: Promise<void> | null = null;
  return {
    name,
    queue,
    close() {
      closing ??= (async () => {
        clearInterval(heartbeat);
        await worker.close();
        await control.del(keys.worker(queue, name)).catch(() => undefined);
        control.disconnect();
        subscriber.disconnect();
        closeAll(connections);
      })();
      return closing;
    },
  };
}

/** The abort controllers of the jobs running now, by request id. */
type RunningJobs = Map<string, Set<AbortController>>;

interface JobContext {
  backend: ForgeBackend;
  control: Redis;
  queue: string;
  name: string;
  log: (line: string) => void;
  tokenizer: string;
  running: RunningJobs;
}

async function runJob(job: Job, signal: AbortSignal | undefined, ctx: JobContext): Promise<QueueJobResult> {
  // Anything wrong with the job itself is final: retrying on this worker gives the same answer.
  let decoded: ReturnType<typeof decodeJobData>;
  try {
    decoded = decodeJobData(job.data);
  } catch (err) {
    throw new (bullmq().UnrecoverableError)(`worker ${ctx.name}: ${(err as Error).message}`);
  }
  const { data, workflow } = decoded;
  if (data.tokenizer !== undefined && data.tokenizer !== ctx.tokenizer)
    throw new (bullmq().UnrecoverableError)(
      `worker ${ctx.name} cannot load the workflow: it was prepared for tokenizer "${data.tokenizer}", ` +
        `but this worker's tokenizer is "${ctx.tokenizer}" (start workers with the model the workflow was prepared for)`,
    );
  try {
    ctx.backend.check(workflow);
  } catch (err) {
    throw new (bullmq().UnrecoverableError)(`worker ${ctx.name} cannot run the workflow: ${(err as Error).message}`);
  }

  const last = data.firstInstance + data.instances - 1;
  const controller = new AbortController();
  signal?.addEventListener("abort", () => controller.abort(), { once: true });
  // Listen for the published cancel before reading the flag: a cancel published in between is
  // caught by one or the other (the session sets the flag, then publishes).
  const listeners = ctx.running.get(data.requestId) ?? new Set<AbortController>();
  ctx.running.set(data.requestId, listeners.add(controller));
  const cancelKey = keys.cancel(ctx.queue, data.requestId);
  const watchCancel = async () => {
    if ((await ctx.control.exists(cancelKey)) === 1) controller.abort();
  };
  let watcher: NodeJS.Timeout | undefined;
  try {
    await watchCancel();
    // Taken after its request was cancelled: the engine sees the aborted signal before its first
    // step and returns every instance interrupted and empty.
    const notRun = controller.signal.aborted;
    if (notRun) ctx.log(`worker ${ctx.name}: job ${job.id} taken after its request was cancelled: not run (instances ${data.firstInstance}…${last})`);
    else ctx.log(`worker ${ctx.name}: job ${job.id} started (instances ${data.firstInstance}…${last})`);
    watcher = setInterval(() => void watchCancel().catch(() => undefined), CANCEL_POLL_MS);
    const run = await ctx.backend.run(workflow, {
      ...data.options,
      firstInstance: data.firstInstance,
      instances: data.instances,
      signal: controller.signal,
      onProgress: (p) => {
        const report: QueueJobProgress = { streamsDone: p.streamsDone, streams: p.streams, step: p.step, tokens: p.tokens, generatedTokens: p.generatedTokens, forcedTokens: p.forcedTokens, fraction: p.fraction, finished: p.finished, worker: ctx.name };
        void job.updateProgress(report as never).catch(() => undefined);
      },
    });
    if (!notRun) ctx.log(`worker ${ctx.name}: job ${job.id} ${run.meta.interrupted ? "interrupted" : "done"} (${run.meta.steps} steps, ${run.meta.wallMs} ms)`);
    return encodeJobResult(run);
  } finally {
    clearInterval(watcher);
    listeners.delete(controller);
    if (listeners.size === 0) ctx.running.delete(data.requestId);
  }
}
