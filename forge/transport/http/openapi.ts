/**
 * The HTTP server's part of the OpenAPI document: its routes, written here, and its bodies,
 * which are the zod schemas the code validates and types with (types.ts, forge/engine/options.ts,
 * forge/run/codec.ts, forge/szcp). scripts/openapi.ts turns a list of such modules into
 * openapi.json (`npm run openapi`); test/forge/transport/http/openapi.test.ts fails when the
 * committed file is not what the modules generate, or when a route served is not documented.
 */
import type { z } from "zod";
import { requestOptionsSchema } from "../../engine/options.js";
import { wireRunSchema, wireStreamTraceSchema } from "../../run/codec.js";
import { szcpSchema } from "../../szcp/index.js";
import { errorBodySchema, jobEventSchema, jobSummarySchema, progressSchema, serverInfoSchema, serverLimitsSchema, submitBodySchema } from "./types.js";
import { MAX_INLINE_TABLE_ROWS } from "./tables.js";

/** One API's share of an OpenAPI document: schemas by component name, routes that `$ref` them. */
export interface OpenApiModule {
  /** Component schemas, by name: referenced as `#/components/schemas/<name>`. */
  schemas: Record<string, { schema: z.ZodType; description?: string }>;
  /** OpenAPI path items by route ("/jobs/{id}"). */
  paths: Record<string, unknown>;
  securitySchemes?: Record<string, unknown>;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** An answer whose body is one of the component schemas. */
const json = (description: string, schema: string) => ({ description, content: { "application/json": { schema: ref(schema) } } });
/** An error answer: every 4xx/5xx body is the Error schema. */
const error = (description: string) => json(description, "Error");
const UNAUTHORIZED = error("Missing or invalid credentials (only when the server has auth). Same answer for every route and job id; header WWW-Authenticate: Bearer realm=\"forge\".");
const JOB_ID = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", format: "uuid" },
  description: "Job id returned by POST /jobs."
};
const WAIT = {
  name: "wait",
  in: "query",
  required: false,
  schema: { type: "string", enum: ["true", "false", "1", "0", ""] },
  description: "true: hold the request until the job has finished (long poll). Otherwise 409 while it runs."
};
const ARRAYS = {
  name: "arrays",
  in: "query",
  required: false,
  schema: { type: "string", enum: ["base64", "list"] },
  description: "Trace columns as base64 of little-endian bytes (default) or number lists."
};
const TABLE = {
  name: "table",
  in: "query",
  required: false,
  schema: { type: "string", enum: ["samples", "paths", "tokens", "decisions"] },
  description: "samples (default), paths, tokens (one row per token: forced, logprobs, text) or decisions (jump sites; runs with logprobs).",
};
const STREAM = {
  name: "stream",
  in: "query",
  required: false,
  schema: { type: "integer", minimum: 0, maximum: 2147483647 },
  description: `tokens and decisions only: one stream (its instance). Without it, a table of more than limits.maxInlineTableRows rows (default ${MAX_INLINE_TABLE_ROWS}; GET /info) is refused (422 limit_exceeded).`,
};

/** The document's header: what the server is (the first module's API names the document). */
export const HTTP_API_INFO = {
    "title": "Workflow Forge server",
    "version": "1.0.0",
    "description": "Compile locally, execute remotely: a client sends an SZCP workflow (forge/szcp) with batch options and a seed; the server runs it on its backend and returns the Run. Started by `await forge.makeServer(backend, { address: \"127.0.0.1:8080\" })`; used by `forge.makeSession(\"http://127.0.0.1:8080\")`. Jobs run one at a time in submission order (FIFO); two clients' jobs are queued, not batched together. Binds loopback unless given another address, which requires auth (or insecure: true). Every error is a JSON body {error: {status, code, message}}; 4xx for any bad input, never a stack trace."
  };

export const httpApi: OpenApiModule = {
  schemas: {
    Error: { schema: errorBodySchema },
    Workflow: {
      schema: szcpSchema,
      description:
        "An SZCP workflow (format \"forge.szcp\", version 1), validated by the zod schema in forge/szcp/schema.ts plus cross-field checks; see forge/szcp/types.ts. Every size-like field is bounded by SZCP_LIMITS (forge/szcp/limits.ts); over one: 422 limit_exceeded naming the path and the limit. Extraction names \"__proto__\" and \"run\", tool names inherited by every JavaScript object (toString, constructor, ...) and \"__proto__\" as a record key are refused (400 invalid_workflow). A `tokenizer` entry of `meta` declares the tokenizer identity the workflow was prepared for.",
    },
    RequestOptions: { schema: requestOptionsSchema },
    SubmitBody: { schema: submitBodySchema },
    Progress: { schema: progressSchema },
    JobSummary: { schema: jobSummarySchema },
    JobEvent: { schema: jobEventSchema },
    Limits: { schema: serverLimitsSchema },
    ServerInfo: { schema: serverInfoSchema },
    StreamTrace: { schema: wireStreamTraceSchema },
    Run: { schema: wireRunSchema },
  },
  securitySchemes: {
    "bearer": {
      "type": "http",
      "scheme": "bearer",
      "description": "Auth type `bearer-file`: tokens listed one per line in a file on the server, compared as SHA-256 digests with crypto.timingSafeEqual. Client: makeSession(url, { auth: { type: \"bearer\", payload: token } })."
    }
  },
  paths: {
    "/health": {
      get: {
        operationId: "health",
        summary: "Liveness. Needs no credentials and says nothing about jobs.",
        security: [{}],
        responses: {
          "200": {
            description: "Up.",
            content: {
              "application/json": { schema: { type: "object", required: ["status"], properties: { status: { const: "ok" } } } }
            }
          },
        },
      },
    },
    "/info": {
      get: {
        operationId: "info",
        summary: "Model, tokenizer identity, backend, limits, auth type, scheduling.",
        responses: { "200": json("Server info.", "ServerInfo"), "401": UNAUTHORIZED },
      },
    },
    "/jobs": {
      post: {
        operationId: "submit",
        summary: "Queue a workflow run.",
        requestBody: { required: true, content: { "application/json": { schema: ref("SubmitBody") } } },
        responses: {
          "202": json("Queued; Location: /jobs/{id}.", "JobSummary"),
          "400": error("Not JSON, not the request schema, or an invalid SZCP workflow (message names the JSON path)."),
          "401": UNAUTHORIZED,
          "413": error("Body over limits.maxBodyBytes."),
          "415": error("Content-Type is not application/json."),
          "422": error("Refused: a workflow prepared for another tokenizer, a tool this backend lacks (refused), or batchSize / instances / maxTokens / total tokens over the limits (limit_exceeded)."),
          "429": error("Queue full (limits.maxQueuedJobs)."),
          "503": error("Shutting down: no new jobs."),
        },
      },
    },
    "/jobs/{id}": {
      get: {
        operationId: "job",
        summary: "Job state, queue position, latest progress.",
        parameters: [JOB_ID],
        responses: {
          "200": json("Summary.", "JobSummary"),
          "401": UNAUTHORIZED,
          "404": error("No such job for these credentials (a job of another principal is reported the same way)."),
        },
      },
    },
    "/jobs/{id}/events": {
      get: {
        operationId: "events",
        summary: "Progress stream: NDJSON, one JobEvent per line (current state first, then progress reports with streams done and tokens/s, then end). Ends when the job ends.",
        parameters: [JOB_ID],
        responses: {
          "200": {
            description: "NDJSON stream.",
            content: { "application/x-ndjson": { schema: { $ref: "#/components/schemas/JobEvent" } } }
          },
          "401": UNAUTHORIZED,
          "404": error("No such job for these credentials (a job of another principal is reported the same way)."),
        },
      },
    },
    "/jobs/{id}/result": {
      get: {
        operationId: "result",
        summary: "The Run as JSON.",
        parameters: [JOB_ID, WAIT, ARRAYS],
        responses: {
          "200": json("The Run (a cancelled job's partial Run, streams marked interrupted).", "Run"),
          "400": error("Bad query value."),
          "401": UNAUTHORIZED,
          "404": error("No such job for these credentials (a job of another principal is reported the same way)."),
          "409": error("Not finished yet (without wait=true)."),
          "422": error("The engine refused the job."),
          "500": error("The job failed while running."),
        },
      },
    },
    "/jobs/{id}/result.arrow": {
      get: {
        operationId: "resultArrow",
        summary: "The Run's samples, paths, tokens or decisions table (datasets/) as an Arrow IPC stream; run metadata in the schema metadata.",
        parameters: [JOB_ID, WAIT, TABLE, STREAM],
        responses: {
          "200": {
            description: "Arrow IPC stream.",
            content: { "application/vnd.apache.arrow.stream": { schema: { type: "string", format: "binary" } } }
          },
          "400": error("Bad query value."),
          "401": UNAUTHORIZED,
          "404": error("No such job for these credentials (a job of another principal is reported the same way); no such stream in the job; decisions of a job run without logprobs."),
          "409": error("Not finished yet (without wait=true)."),
          "422": error(`The engine refused the job; or limit_exceeded: a whole tokens or decisions table over limits.maxInlineTableRows rows (default ${MAX_INLINE_TABLE_ROWS}; ask with stream=).`),
          "500": error("The job failed while running."),
          "501": error("not_available: the serving process has not loaded the datasets layer that builds the tables (forge/transport/http/tables.ts)."),
        },
      },
    },
    "/jobs/{id}/cancel": {
      post: {
        operationId: "cancel",
        summary: "Cancel: a queued job at once, a running one within one decode step (its partial Run is kept). Other jobs are untouched.",
        parameters: [JOB_ID],
        responses: {
          "200": json("Summary after the cancel request.", "JobSummary"),
          "401": UNAUTHORIZED,
          "404": error("No such job for these credentials (a job of another principal is reported the same way)."),
        },
      },
    },
  },
};
