/**
 * Scale-out: many backends behind a BullMQ job queue on Redis. A transport: it implements
 * forge/session/contract.ts and imports it, never the reverse.
 *
 *   types.ts       jobs, results, progress, options, Forge's Redis keys
 *   connection.ts  Redis URL checking; ioredis clients for BullMQ and for Forge's own keys
 *   split.ts       request → instance ranges (jobs)
 *   job-codec.ts   job data / job results across Redis (options checked with forge/engine/options.ts,
 *                  Runs with forge/run/codec.ts)
 *   client.ts      QueueClient (a ForgeServer: splits, enqueues, merges with forge/run/merge.ts)
 *                  and makeQueueSession("redis://…")
 *   worker.ts      startQueueWorker: the job runner; worker-main.ts is `forge worker --redis …`
 */
export * from "./types.js";
export { QueueConfigError, QueueConnectionError, QueueJobError, QueueJobDataError } from "./errors.js";
export { parseRedisUrl, bullConnection, controlClient, type RedisTarget, type BullConnectionOptions } from "./connection.js";
export { splitInstances } from "./split.js";
export { encodeJobData, decodeJobData, encodeJobResult, decodeJobResult, QUEUE_JOB_LIMITS } from "./job-codec.js";
export { QueueClient, makeQueueSession } from "./client.js";
export { startQueueWorker, type QueueWorker } from "./worker.js";
