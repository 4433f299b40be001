/**
 * Scale-out: many backends behind a BullMQ job queue on Redis.
 *
 *   types.ts       jobs, results, progress, options, Forge's Redis keys
 *   connection.ts  Redis URL checking; ioredis clients for BullMQ and for Forge's own keys
 *   split.ts       request → instance ranges (jobs)
 *   codec.ts       job data / job results across Redis (typed arrays as base64)
 *   merge.ts       the jobs' Runs → the request's Run, in instance order
 *   server.ts      QueueServer (a ForgeServer) and makeQueueSession("redis://…")
 *   worker.ts      startQueueWorker: the job runner; worker-main.ts is `forge worker --redis …`
 */
export * from "./types.js";
export { QueueConfigError, QueueJobError, QueueMergeError } from "./errors.js";
export { parseRedisUrl, bullConnection, controlClient, type RedisTarget, type BullConnectionOptions } from "./connection.js";
export { splitInstances } from "./split.js";
export { encodeJobData, decodeJobData, encodeJobResult, decodeJobResult, QUEUE_JOB_LIMITS } from "./codec.js";
export { mergeRuns, mergeStatistics, unstartedRun, type MergeRequest } from "./merge.js";
export { QueueServer, makeQueueSession } from "./server.js";
export { startQueueWorker, type QueueWorker } from "./worker.js";
