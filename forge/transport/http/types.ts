/**
 * The HTTP transport's vocabulary: what travels between an `HttpClient` and the Forge HTTP
 * server, and how the server is configured. Every body is a zod schema here (its TS type is
 * z.infer of it), so the OpenAPI document (openapi.ts → openapi.json, `npm run openapi`) is
 * generated from what the code uses. Request options come from forge/engine/options.ts, the
 * Run from forge/run/codec.ts, the workflow from forge/szcp: declared once, each.
 */
import { z } from "zod";
import type { Progress } from "../../engine/progress.js";
import { requestOptionsSchema, type WireRequestOptions } from "../../engine/options.js";
import { szcpSchema } from "../../szcp/index.js";
import type { SzcpWorkflow } from "../../szcp/types.js";
import type { BackendInfo } from "../../session/contract.js";
import type { ResultTables } from "./tables.js";

export type { WireRequestOptions };

/** Body of `POST /jobs`. */
export const submitBodySchema = z.strictObject({
  workflow: szcpSchema,
  options: requestOptionsSchema.optional(),
  tokenizer: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .meta({ description: "Tokenizer identity the client prepared the workflow for; refused (422) when it is not the server's (GET /info)." }),
});

/** What a client sends (submitBodySchema's fields, with the workflow as forge/szcp types it). */
export type SubmitBody = Omit<z.infer<typeof submitBodySchema>, "workflow"> & { workflow: SzcpWorkflow };

/** Lifecycle of a job. One job runs at a time; the others wait in submission order. */
export const jobStateSchema = z.enum(["queued", "running", "done", "failed", "cancelled"]);
export type JobState = z.infer<typeof jobStateSchema>;

export const FINISHED_STATES: readonly JobState[] = ["done", "failed", "cancelled"];

const count = z.number().int().min(0);

/** An engine progress report (forge/engine/progress.ts), as the server relays it. */
export const progressSchema = z.object({
  streamsDone: count,
  streams: count,
  step: count,
  tokens: count,
  tokensPerSecond: z.number(),
  generatedTokens: count.meta({ description: "Tokens the model sampled (each cost a decode step)." }),
  forcedTokens: count.meta({ description: "Tokens the automaton fed (prompts, forced text)." }),
  generatedTokensPerSecond: z.number(),
  fraction: z.number().min(0).max(1).nullable().meta({ description: "Estimated share of the work done, 0…1; null when unknown." }),
  elapsedMs: z.number(),
  etaMs: z.number().nullable(),
  finished: z.boolean(),
});

// The schema is the engine's Progress, field for field (a field added to one and not the other fails to compile).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const progressAgrees: Same<z.infer<typeof progressSchema>, Progress> = true;
void progressAgrees;

/** What `GET /jobs/{id}` (and `POST /jobs`) answers. */
export const jobSummarySchema = z.object({
  id: z.string().meta({ format: "uuid" }),
  state: jobStateSchema,
  position: count.meta({ description: "Jobs ahead in the queue (0 when running or finished)." }),
  createdAt: z.string().meta({ format: "date-time" }),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  progress: progressSchema.nullable().meta({ description: "Latest progress report of the engine (null before the first)." }),
  error: z.string().nullable().meta({ description: "Why the job failed, or who cancelled it." }),
});
export type JobSummary = z.infer<typeof jobSummarySchema>;

/** One line of the NDJSON progress stream `GET /jobs/{id}/events`. */
export const jobEventSchema = z
  .union([
    z.object({ event: z.literal("state"), state: jobStateSchema, position: count }),
    progressSchema.extend({ event: z.literal("progress") }),
    z.object({ event: z.literal("end"), state: jobStateSchema, error: z.string().nullable() }),
  ])
  .meta({ description: "One line of the NDJSON event stream." });
export type JobEvent = z.infer<typeof jobEventSchema>;

const limit = z.number().int().min(1);

/** Limits on untrusted requests; anything over them is answered 4xx with a message. */
export const serverLimitsSchema = z
  .object({
    maxBodyBytes: limit.meta({ description: "Largest request body, bytes (413 above). Default 4 MiB." }),
    maxBatchSize: limit.meta({ description: "Largest `batchSize` (streams decoded together). Default 256." }),
    maxInstances: limit.meta({ description: "Largest `instances`. Default 4096." }),
    maxTokens: limit.meta({ description: "Largest per-stream `maxTokens`; default (and never above) the model's context length." }),
    maxTotalTokens: limit.meta({ description: "Ceiling on instances × per-stream token cap of one request. Default 8 Mi tokens." }),
    maxQueuedJobs: limit.meta({ description: "Jobs waiting or running at once, requests being admitted counted with them (429 above, on arrival). Default 32." }),
    maxRetainedJobs: limit.meta({ description: "Finished jobs kept for their results; the oldest are forgotten first. Default 64." }),
    maxToolTimeoutMs: limit.meta({ description: "Largest `toolTimeoutMs`. Default 120 000." }),
    maxInlineTableRows: limit.meta({
      description: "Most rows of a whole tokens or decisions table `GET /jobs/{id}/result.arrow` builds for one answer (422 above: ask for one stream with `stream=`). Default 200 000.",
    }),
  })
  .meta({
    examples: [
      { maxBodyBytes: 4194304, maxBatchSize: 256, maxInstances: 4096, maxTokens: 1024, maxTotalTokens: 8388608, maxQueuedJobs: 32, maxRetainedJobs: 64, maxToolTimeoutMs: 120000, maxInlineTableRows: 200000 },
    ],
  });
export type ServerLimits = z.infer<typeof serverLimitsSchema>;

/** `GET /info`: the backend's identity, this server's limits and how it queues work. */
export const serverInfoSchema = z.object({
  model: z.string(),
  tokenizer: z.string().meta({ description: "Tokenizer identity (name + vocabulary hash)." }),
  backend: z.string().meta({ description: "tfjs backend: tensorflow, wasm or cpu." }),
  contextLength: z.number().int().min(1),
  vocabSize: z.number().int().min(1),
  tools: z.array(z.string()),
  sampling: z
    .strictObject({ temperature: z.number().gt(0).optional(), topK: z.number().int().min(1).optional(), topP: z.number().gt(0).max(1).optional() })
    .meta({ description: "Sampling a job gets for the fields its options leave out (the model's generation_config.json)." }),
  ident: z.string().nullable(),
  limits: serverLimitsSchema,
  auth: z.string().nullable().meta({ description: "Auth type (e.g. bearer-file), null when none." }),
  scheduling: z.literal("fifo"),
});
export type ServerInfo = BackendInfo & Omit<z.infer<typeof serverInfoSchema>, keyof BackendInfo>;

/** The stable codes of error answers. */
export const httpErrorCodeSchema = z.enum([
  "invalid_request", // 400: the body does not match the request schema
  "invalid_workflow", // 400: the SZCP workflow failed validation (message names the JSON path)
  "unauthorized", // 401
  "not_found", // 404: no such route, or no such job for these credentials
  "not_finished", // 409: results asked for before the job finished (without ?wait=true)
  "payload_too_large", // 413
  "unsupported_media_type", // 415
  "refused", // 422: valid, but this backend cannot run it (tokenizer, tools)
  "limit_exceeded", // 422: an option over this server's limits, or a workflow field over SZCP_LIMITS (body names path and limit)
  "queue_full", // 429
  "job_failed", // 500: the engine failed while running the job
  "internal", // 500: a server bug; details go to the server log only
  "not_available", // 501: result.arrow on a server without the datasets layer's table builders
  "shutting_down", // 503
]);
export type HttpErrorCode = z.infer<typeof httpErrorCodeSchema>;

/** Error body of every 4xx/5xx answer. */
export const errorBodySchema = z
  .object({
    error: z.object({
      status: z.number().int(),
      code: httpErrorCodeSchema,
      message: z.string().meta({ description: "What is wrong and where (JSON path of the field, the limit exceeded, the two tokenizer identities, ...)." }),
      path: z
        .string()
        .optional()
        .meta({ description: "JSON path of the offending field in the request body (e.g. $.workflow.counters), when the error is about one field." }),
      limit: z
        .object({ name: z.string(), value: z.number().int() })
        .optional()
        .meta({
          description:
            "The limit the field is over, when that is the fault: SZCP_LIMITS.* (forge/szcp/limits.ts) for workflow fields (422 limit_exceeded), limits.* (GET /info) for options and the body size (413).",
        }),
    }),
  })
  .meta({
    examples: [
      {
        error: {
          status: 422,
          code: "limit_exceeded",
          message: "options.batchSize = 1000 exceeds this server's limit of 256 streams per batch",
          path: "$.options.batchSize",
          limit: { name: "limits.maxBatchSize", value: 256 },
        },
      },
      { error: { status: 400, code: "invalid_request", message: "invalid request body at $.options.batchsize: Unrecognized key: \"batchsize\"", path: "$.options.batchsize" } },
    ],
  });
export type ErrorBody = z.infer<typeof errorBodySchema>;

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
  /** Builders of the result.arrow tables; default: those the datasets layer registered (tables.ts). */
  resultTables?: ResultTables | null;
}
