/**
 * The scale-out vocabulary: how a request becomes jobs on a BullMQ queue, what a job carries
 * to a worker and what comes back. Everything that crosses Redis is JSON; the trace columns of
 * a result travel as base64 of their bytes (forge/run/codec.ts's `encodeRun`).
 */
import type { BackendInfo } from "../../session/contract.js";
import type { SzcpWorkflow } from "../../szcp/types.js";
import type { WireRequestOptions } from "../../engine/options.js";
import type { WireRun } from "../../run/codec.js";

/** The default queue name; sessions and workers must agree on it. */
export const DEFAULT_QUEUE = "forge";

/** One job: a contiguous range of workflow instances of one request. */
export interface JobRange {
  /** Position of the job in its request (0, 1, …), also the suffix of its job id. */
  part: number;
  firstInstance: number;
  instances: number;
}

/** What a job carries to a worker (BullMQ job data). */
export interface QueueJobData {
  format: "forge.job";
  version: 1;
  /** Id shared by every job of one request (also names its cancel flag). */
  requestId: string;
  part: number;
  parts: number;
  /** The SZCP workflow, as validated JSON (the worker re-validates it). */
  workflow: SzcpWorkflow;
  /** Request options that cross the wire, seed included; the range is below. */
  options: WireRequestOptions;
  firstInstance: number;
  instances: number;
  /** Tokenizer identity the workflow was prepared for; a worker with another one fails the job. */
  tokenizer?: string;
}

/** What a worker returns (BullMQ return value): the partition's Run, JSON-safe. */
export type QueueJobResult = WireRun;

/** A progress report as a worker publishes it (BullMQ job progress). */
export interface QueueJobProgress {
  streamsDone: number;
  streams: number;
  step: number;
  tokens: number;
  /** The engine's Progress fields of the same names (absent from older workers). */
  generatedTokens?: number;
  forcedTokens?: number;
  fraction?: number | null;
  finished: boolean;
  /** The worker's name (host:pid unless given). */
  worker: string;
}

/** `makeQueueSession(url, options)`. */
export interface QueueSessionOptions {
  /** BullMQ queue name (default "forge"). Workers must serve the same name. */
  queue?: string;
  /** Instances per job (default: the request's batchSize, so one job = one batch). */
  jobInstances?: number;
  /** Tokenizer identity the workflows were prepared for (default: the workflow's meta.tokenizer). */
  tokenizer?: string;
  /** Fail at once when no worker is registered on the queue (default true). */
  requireWorker?: boolean;
}

/** `startQueueWorker(options)` / `forge worker --redis …`. */
export interface QueueWorkerOptions {
  /** redis://[user:password@]host:port[/db] */
  redis: string;
  queue?: string;
  /** Name in logs and progress (default host:pid). */
  name?: string;
  /** Jobs run at once by this worker (default 1: one accelerator, one job). */
  concurrency?: number;
  /** How long a job's lock lasts without renewal; a worker that dies is noticed after this (default 30 000 ms). */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died (default 30 000 ms). */
  stalledIntervalMs?: number;
  /** Where the worker's log lines go (default stderr). */
  log?: (line: string) => void;
}

/** What a worker registers in Redis (the session's `info()` reads it). */
export interface WorkerRecord {
  name: string;
  queue: string;
  pid: number;
  startedAt: string;
  info: BackendInfo;
}

/** Redis keys of Forge's own (besides BullMQ's `bull:<queue>:*`). */
export const keys = {
  cancel: (queue: string, requestId: string) => `forge:${queue}:cancel:${requestId}`,
  /** Pub/sub channel: a session publishes a cancelled request's id; workers stop its running jobs at once. */
  cancels: (queue: string) => `forge:${queue}:cancels`,
  worker: (queue: string, name: string) => `forge:${queue}:worker:${name}`,
  workers: (queue: string) => `forge:${queue}:worker:*`,
};
