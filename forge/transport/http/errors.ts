/**
 * Errors of remote execution. `HttpError` is what the server answers (status, a stable code,
 * a message saying where and what); `RemoteError` is how a client sees that answer. It extends
 * the engine's `RequestError`, so `session.request` fails with the same class whether the
 * server is direct or remote.
 */
import { ForgeError } from "../../errors.js";
import { RequestError } from "../../engine/errors.js";
import type { ErrorBody, HttpErrorCode } from "./types.js";

export type { HttpErrorCode };

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

/**
 * `makeServer` / `makeSession` given something it cannot use: an address that is not
 * host:port, a URL that is not http(s), a limit that is not a positive integer, a public
 * address without auth, a port already taken. `where` names the call and the option.
 */
export class HttpConfigError extends ForgeError {
  readonly code: string = "http_config";
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
    this.name = "HttpConfigError";
  }
}
