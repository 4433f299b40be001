/**
 * Errors of remote execution. `HttpError` is what the server answers (status, a stable code,
 * a message saying where and what); `RemoteError` is how a client sees that answer. It extends
 * the engine's `RequestError`, so `session.request` fails with the same class whether the
 * server is direct or remote.
 */
import { ForgeError } from "../errors.js";
import { RequestError } from "../engine/errors.js";
import type { ErrorBody } from "./types.js";

export type HttpErrorCode =
  | "invalid_request" // 400: the body does not match the request schema
  | "invalid_workflow" // 400: the SZCP workflow failed validation (message names the JSON path)
  | "unauthorized" // 401
  | "not_found" // 404: no such route, or no such job for these credentials
  | "not_finished" // 409: results asked for before the job finished (without ?wait=true)
  | "payload_too_large" // 413
  | "unsupported_media_type" // 415
  | "refused" // 422: valid, but this backend cannot run it (tokenizer, tools)
  | "limit_exceeded" // 422: an option over this server's limits, or a workflow field over SZCP_LIMITS (body names path and limit)
  | "queue_full" // 429
  | "job_failed" // 500: the engine failed while running the job
  | "internal" // 500: a server bug; details go to the server log only
  | "shutting_down"; // 503

/** Where the fault is and the limit it is over, when the error is about one field. */
export interface ErrorDetails {
  /** JSON path of the field in the request body, e.g. `$.workflow.counters`. */
  path?: string;
  /** The limit the field is over: its name (`SZCP_LIMITS.maxCounters`, `limits.maxBatchSize`) and value. */
  limit?: { name: string; value: number };
}

export class HttpError extends ForgeError {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = "HttpError";
  }

  body(): ErrorBody {
    const error: ErrorBody["error"] = { status: this.status, code: this.code, message: this.message };
    if (this.details.path !== undefined) error.path = this.details.path;
    if (this.details.limit !== undefined) error.limit = { ...this.details.limit };
    return { error };
  }
}

/** The server refused or failed a request; `status` and `code` are the server's answer. */
export class RemoteError extends RequestError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly url: string,
    /** The field and the limit, when the server named them. */
    readonly details: ErrorDetails = {},
  ) {
    super(`${message} (HTTP ${status} ${code} from ${url})`);
    this.name = "RemoteError";
  }
}
