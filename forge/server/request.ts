/**
 * Admission of an untrusted `POST /jobs` body, stage by stage, each failure a 4xx naming the
 * field: request shape (zod) → SZCP workflow (its own schema, JSON paths) → this server's
 * limits → the tokenizer the client prepared it for → the backend's own check (tokenizer can
 * encode the patterns, tools registered) → sampling options against the vocabulary.
 */
import { z } from "zod";
import type { ForgeBackend } from "../api/backend.js";
import type { RequestOptions } from "../engine/types.js";
import type { SzcpWorkflow } from "../szcp/types.js";
import { deserializeWorkflow, SzcpError, jsonPath } from "../szcp/index.js";
import { resolveSampling } from "../sampler/index.js";
import { HttpError } from "./errors.js";
import type { ServerLimits, WireRequestOptions } from "./types.js";

const positiveInt = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

const optionsSchema = z.strictObject({
  batchSize: positiveInt.optional(),
  instances: positiveInt.optional(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  maxTokens: positiveInt.optional(),
  greedy: z.boolean().optional(),
  temperature: z.number().min(0).max(1e6).optional(),
  topK: positiveInt.optional(),
  topP: z.number().gt(0).max(1).optional(),
  toolTimeoutMs: positiveInt.optional(),
  prefill: z.boolean().optional(),
  continuousBatching: z.boolean().optional(),
  shrinkBatch: z.boolean().optional(),
  feedChunk: z.number().int().min(1).max(64).optional(),
  automaton: z.enum(["tensor", "host"]).optional(),
});

const bodySchema = z.strictObject({
  workflow: z.unknown().refine((v) => v !== undefined, "required"),
  options: optionsSchema.optional(),
  tokenizer: z.string().min(1).max(1000).optional(),
});

export interface AdmittedRequest {
  workflow: SzcpWorkflow;
  options: WireRequestOptions;
}

/** Validates a request body for this backend; throws HttpError (400 / 422) saying where and what. */
export function admitRequest(body: unknown, backend: ForgeBackend, limits: ServerLimits): AdmittedRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new HttpError(400, "invalid_request", `the request body must be a JSON object {workflow, options?, tokenizer?}, got ${describe(body)}`);
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((issue) => {
      const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]!] : issue.path;
      return `${jsonPath(path)}: ${issue.message}`;
    });
    throw new HttpError(400, "invalid_request", `invalid request body at ${issues.join("; ")}`);
  }
  let workflow: SzcpWorkflow;
  try {
    workflow = deserializeWorkflow(parsed.data.workflow);
  } catch (err) {
    if (err instanceof SzcpError) throw new HttpError(400, "invalid_workflow", err.message.replace("at $", "at $.workflow"));
    throw err;
  }
  const options = parsed.data.options ?? {};
  checkLimits(options, limits);

  const info = backend.info();
  const declared = parsed.data.tokenizer ?? workflow.meta.tokenizer;
  if (declared !== undefined && declared !== info.tokenizer)
    throw new HttpError(
      422,
      "refused",
      `the workflow was prepared for tokenizer "${declared}", but this server's tokenizer is "${info.tokenizer}"; ` +
        `prepare it for this server's tokenizer (GET /info) or send it to a server with that tokenizer`,
    );
  try {
    backend.check(workflow);
    resolveSampling(options, info.vocabSize);
  } catch (err) {
    // Anything the backend's checks throw is about this workflow or these options.
    throw new HttpError(422, "refused", `this server cannot run the workflow: ${(err as Error).message}`);
  }
  return { workflow, options };
}

export function checkLimits(options: WireRequestOptions, limits: ServerLimits): void {
  const over = (field: string, value: number, limit: number, what: string) => {
    throw new HttpError(422, "limit_exceeded", `options.${field} = ${value} exceeds this server's limit of ${limit} ${what}`);
  };
  const batchSize = options.batchSize ?? 32;
  const instances = options.instances ?? batchSize;
  const maxTokens = options.maxTokens ?? limits.maxTokens;
  if (batchSize > limits.maxBatchSize) over("batchSize", batchSize, limits.maxBatchSize, "streams per batch");
  if (instances > limits.maxInstances) over("instances", instances, limits.maxInstances, "instances per request");
  if (maxTokens > limits.maxTokens) over("maxTokens", maxTokens, limits.maxTokens, "tokens per stream (the model's context)");
  if (instances * maxTokens > limits.maxTotalTokens)
    throw new HttpError(
      422,
      "limit_exceeded",
      `instances × maxTokens = ${instances} × ${maxTokens} = ${instances * maxTokens} exceeds this server's limit of ${limits.maxTotalTokens} tokens per request; lower options.instances or options.maxTokens`,
    );
  if (options.toolTimeoutMs !== undefined && options.toolTimeoutMs > limits.maxToolTimeoutMs)
    over("toolTimeoutMs", options.toolTimeoutMs, limits.maxToolTimeoutMs, "ms");
}

const WIRE_OPTION_KEYS = [
  "batchSize", "instances", "seed", "maxTokens", "greedy", "temperature", "topK", "topP", "toolTimeoutMs",
  "prefill", "continuousBatching", "shrinkBatch", "feedChunk", "automaton",
] as const;

/** The wire subset of in-process request options (callbacks and signals stay home). */
export function wireOptions(options: RequestOptions): WireRequestOptions {
  const out: WireRequestOptions = {};
  for (const key of WIRE_OPTION_KEYS) {
    if (options[key] !== undefined) (out as Record<string, unknown>)[key] = options[key];
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
