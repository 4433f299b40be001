/**
 * What crosses Redis, both ways. A job's data is checked on the worker (anything may sit in
 * a queue: an older client, a typo'd producer): its options with the one request-options
 * schema (forge/engine/options.ts), its workflow with SZCP's. A result is decoded on the
 * session with the Run codec (forge/run/codec.ts): trace columns as base64 of their little-endian bytes, so
 * `decodeJobResult(encodeJobResult(run))` deep-equals `run`, typed-array classes included.
 */
import { z } from "zod";
import type { Run } from "../../run/types.js";
import { requestOptionsSchema, wireOptions, issuePath, type RequestOptions } from "../../engine/options.js";
import type { SzcpWorkflow } from "../../szcp/types.js";
import { deserializeWorkflow, sealWorkflow, SzcpError } from "../../szcp/index.js";
import { decodeRun, encodeRun } from "../../run/codec.js";
import { QueueJobDataError } from "./errors.js";
import type { JobRange, QueueJobData, QueueJobResult } from "./types.js";

/**
 * Bounds on what a job may ask of a worker, beside the workflow's own (SZCP_LIMITS): a worker
 * allocates per instance and per batch slot, so a job off Redis saying `instances: 1e15` is
 * refused before anything is allocated.
 */
export const QUEUE_JOB_LIMITS = {
  /** Instances in one job (a request's range; a session makes jobs of `jobInstances`, default its batch). */
  maxJobInstances: 1_048_576,
  /** `options.batchSize` of a job. */
  maxBatchSize: 65_536,
  /** `options.maxTokens` of a job (the worker caps it at its model's context anyway). */
  maxTokens: 16_777_216,
} as const;

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const atMost = (limit: keyof typeof QUEUE_JOB_LIMITS) => ({ error: `over the limit (QUEUE_JOB_LIMITS.${limit} = ${QUEUE_JOB_LIMITS[limit]})` });

// The one options schema, less `instances` (the job's range says it), with a worker's own bounds.
const jobOptionsSchema = requestOptionsSchema.omit({ instances: true }).extend({
  batchSize: z.number().int().min(1).max(QUEUE_JOB_LIMITS.maxBatchSize, atMost("maxBatchSize")).optional(),
  maxTokens: z.number().int().min(1).max(QUEUE_JOB_LIMITS.maxTokens, atMost("maxTokens")).optional(),
});

const jobDataSchema = z.object({
  format: z.literal("forge.job"),
  version: z.literal(1),
  requestId: z.string().min(1).max(256),
  part: count,
  parts: count,
  workflow: z.record(z.string(), z.unknown()),
  options: jobOptionsSchema,
  firstInstance: count,
  instances: z.number().int().min(1).max(QUEUE_JOB_LIMITS.maxJobInstances, atMost("maxJobInstances")),
  tokenizer: z.string().max(1000).optional(),
});

/** The data of each job of a request. */
export function encodeJobData(
  requestId: string,
  workflow: SzcpWorkflow,
  options: RequestOptions,
  range: JobRange,
  parts: number,
  tokenizer: string | undefined,
): QueueJobData {
  const { instances: _all, ...wire } = wireOptions(options);
  const data: QueueJobData = {
    format: "forge.job",
    version: 1,
    requestId,
    part: range.part,
    parts,
    workflow,
    options: { ...wire, seed: options.seed ?? 0 },
    firstInstance: range.firstInstance,
    instances: range.instances,
  };
  if (tokenizer !== undefined) data.tokenizer = tokenizer;
  return data;
}

/** A job's data as the worker trusts it: shape and options checked, workflow validated. Throws QueueJobDataError saying where. */
export function decodeJobData(value: unknown): { data: QueueJobData; workflow: SzcpWorkflow } {
  const parsed = jobDataSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issuePath("$", issue);
    const what = issue.path[0] === "options" ? "the job's request options are invalid" : "the job's data is not a Forge job";
    throw new QueueJobDataError(`${what} (at ${where}: ${issue.message})`, where);
  }
  // What the schema parsed, not the value as it came: the options the worker runs with are exactly the checked ones.
  const data = parsed.data as unknown as QueueJobData;
  try {
    // The same schema and limits as the HTTP server's admission (SZCP_LIMITS), paths from the job's data.
    // Sealed (frozen, hash memoized): the worker's check and run compile it once.
    return { data, workflow: sealWorkflow(deserializeWorkflow(data.workflow)) };
  } catch (err) {
    if (err instanceof SzcpError) throw new QueueJobDataError(err.message.replace(/ at \$/g, " at $.workflow"), err.path.replace(/^\$/, "$.workflow"));
    throw err;
  }
}

export function encodeJobResult(run: Run): QueueJobResult {
  return encodeRun(run, "base64");
}

export function decodeJobResult(value: unknown): Run {
  return decodeRun(typeof value === "string" ? JSON.parse(value) : value);
}
