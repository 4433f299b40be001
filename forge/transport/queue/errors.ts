/**
 * Errors of the Redis job queue. `QueueConfigError`: a bad URL or option (the message says
 * which). `QueueJobError`: a job of the request failed on a worker; it extends the engine's
 * `RequestError`, so `session.request` fails with the same class as a direct or HTTP session,
 * and its message carries the worker's reason and the instances the job held.
 */
import { ForgeError } from "../../errors.js";
import { RequestError } from "../../engine/errors.js";

export class QueueConfigError extends ForgeError {
  readonly code: string = "queue_config";
  constructor(message: string) {
    super(message);
    this.name = "QueueConfigError";
  }
}

/** Redis is not there, or refuses the login (the message says which, the URL without its password). */
export class QueueConnectionError extends ForgeError {
  readonly code: string = "queue_unreachable";
  constructor(message: string) {
    super(message);
    this.name = "QueueConnectionError";
  }
}

export class QueueJobError extends RequestError {
  constructor(
    message: string,
    /** The failed job's id and instance range. */
    readonly jobId: string,
    readonly firstInstance: number,
    readonly instances: number,
  ) {
    super(message);
    this.name = "QueueJobError";
  }
}

/** A job's data that is not a Forge job this worker can take (bad shape, invalid workflow or options); `where` is its JSON path. */
export class QueueJobDataError extends ForgeError {
  readonly code: string = "queue_job_invalid";
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
    this.name = "QueueJobDataError";
  }
}
