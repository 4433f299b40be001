/**
 * The job queue. Jobs run one at a time, in submission order (FIFO): the engine already
 * batches the streams of one request, and two requests decoding at once would only split
 * the same cores. A second client's job therefore waits (its `position` says how long the
 * line is) and starts the moment the first ends. Cancelling a queued job removes it from the
 * line; cancelling the running job aborts it within one decode step and keeps its partial
 * Run (streams marked `interrupted`). Finished jobs keep their Run until `maxRetainedJobs`
 * newer ones have finished.
 */
import { randomUUID } from "node:crypto";
import type { ForgeBackend } from "../../session/backend.js";
import type { Progress } from "../../engine/progress.js";
import type { Run } from "../../run/types.js";
import type { SzcpWorkflow } from "../../szcp/types.js";
import { RequestError } from "../../engine/errors.js";
import { HttpError } from "./errors.js";
import { FINISHED_STATES, type JobEvent, type JobState, type JobSummary, type WireRequestOptions } from "./types.js";

export class Job {
  readonly id = randomUUID();
  readonly createdAt = new Date();
  state: JobState = "queued";
  startedAt: Date | null = null;
  finishedAt: Date | null = null;
  progress: Progress | null = null;
  error: string | null = null;
  /** True when the failure was the request's fault (the engine's RequestError). */
  refused = false;
  run: Run | null = null;
  readonly controller = new AbortController();
  private readonly listeners = new Set<(event: JobEvent) => void>();
  private resolveSettled!: () => void;
  /** Resolves when the job reaches done, failed or cancelled. */
  readonly settled = new Promise<void>((resolve) => (this.resolveSettled = resolve));

  constructor(
    readonly workflow: SzcpWorkflow,
    readonly options: WireRequestOptions,
    /** Who submitted it: only the same principal sees it. */
    readonly owner: string,
  ) {}

  get finished(): boolean {
    return FINISHED_STATES.includes(this.state);
  }

  /** Subscribe to state, progress and end events; returns the unsubscribe function. */
  listen(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: JobEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  finish(state: JobState, error: string | null = null): void {
    this.state = state;
    this.error = error;
    this.finishedAt = new Date();
    this.emit({ event: "end", state, error });
    this.listeners.clear();
    this.resolveSettled();
  }
}

export class JobQueue {
  private readonly jobs = new Map<string, Job>();
  private readonly waiting: Job[] = [];
  private current: Job | null = null;
  private accepting = true;
  private idleWaiters: (() => void)[] = [];
  /** Queued jobs being cancelled (their interrupted Run is being made). */
  private readonly settling = new Set<Promise<void>>();

  constructor(
    private readonly backend: ForgeBackend,
    private readonly limits: { maxQueuedJobs: number; maxRetainedJobs: number },
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Jobs waiting or running (what `limits.maxQueuedJobs` bounds). */
  get pending(): number {
    return this.waiting.length + (this.current ? 1 : 0);
  }

  /** Adds a job (already admitted) to the end of the line. Throws 429 / 503 HttpErrors. */
  submit(workflow: SzcpWorkflow, options: WireRequestOptions, owner: string): Job {
    if (!this.accepting) throw new HttpError(503, "shutting_down", "the server is shutting down and accepts no new jobs");
    const pending = this.pending;
    if (pending >= this.limits.maxQueuedJobs)
      throw new HttpError(429, "queue_full", `the queue is full (${pending} jobs waiting or running, limit ${this.limits.maxQueuedJobs}); retry later`);
    const job = new Job(workflow, options, owner);
    this.jobs.set(job.id, job);
    this.waiting.push(job);
    queueMicrotask(() => this.pump());
    return job;
  }

  /** The job with this id, if `owner` may see it (otherwise as if it did not exist). */
  get(id: string, owner: string): Job | undefined {
    const job = this.jobs.get(id);
    return job && job.owner === owner ? job : undefined;
  }

  position(job: Job): number {
    const index = this.waiting.indexOf(job);
    return index < 0 ? 0 : index + (this.current ? 1 : 0);
  }

  summary(job: Job): JobSummary {
    return {
      id: job.id,
      state: job.state,
      position: this.position(job),
      createdAt: job.createdAt.toISOString(),
      startedAt: job.startedAt?.toISOString() ?? null,
      finishedAt: job.finishedAt?.toISOString() ?? null,
      progress: job.progress,
      error: job.error,
    };
  }

  /** Cancels a queued job at once, or aborts the running one (it settles with its partial Run). */
  cancel(job: Job, reason = "cancelled by the client"): void {
    if (job.finished || job.controller.signal.aborted) return;
    job.error = reason;
    job.controller.abort(new Error(reason));
    if (job.state === "queued") {
      this.waiting.splice(this.waiting.indexOf(job), 1);
      this.announcePositions();
      // As in a direct run whose signal is already aborted, the Run still comes back, every
      // stream "interrupted": the engine sees the signal before its first step and returns.
      const settling = this.backend
        .run(job.workflow, { ...job.options, signal: job.controller.signal })
        .then((run) => void (job.run = run), () => undefined)
        .finally(() => {
          job.finish("cancelled", reason);
          this.settling.delete(settling);
          this.forgetOld();
          this.checkIdle();
        });
      this.settling.add(settling);
    }
  }

  /** Stops taking jobs; with `cancel`, also cancels every queued and running job. Resolves when none runs. */
  async shutdown(mode: "drain" | "cancel"): Promise<void> {
    this.accepting = false;
    if (mode === "cancel") {
      for (const job of [...this.waiting]) this.cancel(job, "cancelled: the server is shutting down");
      if (this.current) this.cancel(this.current, "cancelled: the server is shutting down");
    }
    await this.idle();
  }

  /** Resolves when no job is queued or running. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Every finished job still held (for a host that wants them after shutdown). */
  finishedJobs(): Job[] {
    return [...this.jobs.values()].filter((job) => job.finished);
  }

  private pump(): void {
    if (this.current || this.waiting.length === 0) return;
    const job = this.waiting.shift()!;
    this.current = job;
    this.announcePositions();
    void this.execute(job).finally(() => {
      this.current = null;
      this.forgetOld();
      this.checkIdle();
      // A turn of the event loop before the next job: requests that arrived while this one
      // ran (a result, a cancel) are answered now, not after the next job's first slice.
      setImmediate(() => this.pump());
    });
  }

  private async execute(job: Job): Promise<void> {
    job.state = "running";
    job.startedAt = new Date();
    job.emit({ event: "state", state: "running", position: 0 });
    try {
      job.run = await this.backend.run(job.workflow, {
        ...job.options,
        signal: job.controller.signal,
        onProgress: (progress) => {
          job.progress = progress;
          job.emit({ event: "progress", ...progress });
        },
      });
      job.finish(job.controller.signal.aborted ? "cancelled" : "done", job.controller.signal.aborted ? job.error : null);
    } catch (err) {
      job.refused = err instanceof RequestError;
      if (!job.refused) this.log(`forge server: job ${job.id} failed: ${(err as Error).stack ?? String(err)}`);
      job.finish("failed", (err as Error).message ?? String(err));
    }
  }

  private announcePositions(): void {
    for (const job of this.waiting) job.emit({ event: "state", state: "queued", position: this.position(job) });
  }

  private forgetOld(): void {
    const finished = this.finishedJobs();
    for (const job of finished.slice(0, Math.max(0, finished.length - this.limits.maxRetainedJobs))) this.jobs.delete(job.id);
  }

  private isIdle(): boolean {
    return !this.current && this.waiting.length === 0 && this.settling.size === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((resolve) => resolve());
  }
}
