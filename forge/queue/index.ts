/**
 * Scale-out: many backends behind a BullMQ job queue on Redis.
 *
 *   types.ts       jobs, results, progress, options, Forge's Redis keys
 *   resp.ts        a minimal RESP2 Redis client (BullMQ's driver; see its header) + URL parsing
 *   connection.ts  BullMQ connections over it
 *   split.ts       request → instance ranges (jobs)
 *   codec.ts       job data / job results across Redis (typed arrays as base64)
 *   merge.ts       the jobs' Runs → the request's Run, in instance order
 *   server.ts      QueueServer (a ForgeServer) and makeQueueSession("redis://…")
 *   worker.ts      startQueueWorker: the job runner; worker-main.ts is `forge worker --redis …`
 */
export * from "./types.js";
export { QueueConfigError, QueueJobError, QueueMergeError } from "./errors.js";
export { parseRedisUrl, RespClient, RespParser, encodeCommand, type RedisTarget } from "./resp.js";
export { splitInstances } from "./split.js";
export { encodeJobData, decodeJobData, encodeJobResult, decodeJobResult } from "./codec.js";
export { mergeRuns, mergeStatistics, unstartedRun, type MergeRequest } from "./merge.js";
export { QueueServer, makeQueueSession } from "./server.js";
export { startQueueWorker, type QueueWorker } from "./worker.js";
