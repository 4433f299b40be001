/**
 * The remote-execution vocabulary: what travels over HTTP between a `RemoteServer` (client)
 * and the Forge HTTP server, and how the server is configured. See openapi.json for the routes.
 */
import type { BackendInfo } from "../api/backend.js";
import type { Progress } from "../api/ambient.js";
import type { RunMetadata, RunStatistics, PathSegment, TraceEvent, StreamStatus } from "../run/types.js";
import type { SzcpWorkflow } from "../szcp/types.js";

/** Request options that can cross the wire: RequestOptions minus the in-process callbacks. */
export interface WireRequestOptions {
  batchSize?: number;
  instances?: number;
  seed?: number;
  maxTokens?: number;
  greedy?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  toolTimeoutMs?: number;
  prefill?: boolean;
  continuousBatching?: boolean;
  shrinkBatch?: boolean;
  feedChunk?: number;
  automaton?: "tensor" | "host";
}

/** Body of `POST /jobs`. */
export interface SubmitBody {
  workflow: SzcpWorkflow;
  options?: WireRequestOptions;
  /** Tokenizer identity the client prepared the workflow for; a server with another one refuses it. */
  tokenizer?: string;
}

/** Lifecycle of a job. One job runs at a time; the others wait in submission order. */
export type JobState = "queued" | "running" | "done" | "failed" | "cancelled";

export const FINISHED_STATES: readonly JobState[] = ["done", "failed", "cancelled"];

/** What `GET /jobs/{id}` (and `POST /jobs`) answers. */
export interface JobSummary {
  id: string;
  state: JobState;
  /** Jobs ahead of this one in the queue (0 when running or finished). */
  position: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Latest progress report of the engine (null before the first). */
  progress: Progress | null;
  /** Why the job failed, or who cancelled it. */
  error: string | null;
}

/** One line of the NDJSON progress stream `GET /jobs/{id}/events`. */
export type JobEvent =
  | { event: "state"; state: JobState; position: number }
  | ({ event: "progress" } & Progress)
  | { event: "end"; state: JobState; error: string | null };

/** Limits on untrusted requests; anything over them is answered 4xx with a message. */
export interface ServerLimits {
  /** Largest request body, bytes (413 above). Default 4 MiB. */
  maxBodyBytes: number;
  /** Largest `batchSize` (streams decoded together). Default 256. */
  maxBatchSize: number;
  /** Largest `instances`. Default 4096. */
  maxInstances: number;
  /** Largest per-stream `maxTokens`; default (and never above) the model's context length. */
  maxTokens: number;
  /** Ceiling on instances × per-stream token cap of one request. Default 8 Mi tokens. */
  maxTotalTokens: number;
  /** Jobs waiting or running at once (429 above). Default 32. */
  maxQueuedJobs: number;
  /** Finished jobs kept for their results; the oldest are forgotten first. Default 64. */
  maxRetainedJobs: number;
  /** Largest `toolTimeoutMs`. Default 120 000. */
  maxToolTimeoutMs: number;
}

/** How a server checks credentials: an entry of the auth registry (`type`) and its payload. */
export interface ServerAuthConfig {
  type: string;
  payload?: unknown;
}

export interface HttpServerOptions {
  /** "host:port" ("127.0.0.1:0" picks a free port; "8080" or ":8080" means 127.0.0.1). */
  address: string;
  ident?: string | null;
  /** Credentials required on every route but /health. Default: none (loopback only). */
  auth?: ServerAuthConfig | null;
  limits?: Partial<ServerLimits>;
  /** Allow a non-loopback address without auth. Default false: such a server refuses to start. */
  insecure?: boolean;
  /** Where the start-up line and server-side failures go. Default: stderr. */
  log?: (line: string) => void;
}

/** `GET /info`: the backend's identity, this server's limits and how it queues work. */
export interface ServerInfo extends BackendInfo {
  ident: string | null;
  limits: ServerLimits;
  auth: string | null;
  scheduling: "fifo";
}

/** A stream trace on the wire: typed arrays as base64 of their little-endian bytes (or, with
 * `?arrays=list`, plain number lists, for clients without a base64 decoder). */
export interface WireStreamTrace {
  instance: number;
  tokens: string | number[];
  pcs: string | number[];
  forced: string | number[];
  events: TraceEvent[];
  status: StreamStatus;
  message?: string;
}

/** `GET /jobs/{id}/result`: a Run, JSON-safe. */
export interface WireRun {
  format: "forge.run";
  version: 1;
  meta: RunMetadata;
  workflow: SzcpWorkflow;
  streams: WireStreamTrace[];
  extractions: Record<string, string[]>;
  paths: PathSegment[][];
  statistics: RunStatistics;
}

/** Error body of every 4xx/5xx answer. */
export interface ErrorBody {
  error: {
    status: number;
    code: string;
    message: string;
    /** JSON path of the offending field of the request body (`$.workflow.counters`), when there is one. */
    path?: string;
    /** The limit that field is over (`{ name: "SZCP_LIMITS.maxCounters", value: 4096 }`), when that is the fault. */
    limit?: { name: string; value: number };
  };
}
