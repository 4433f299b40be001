/**
 * Admission of an untrusted `POST /jobs` body, stage by stage, each failure a 4xx naming the
 * field: request shape (zod) → SZCP workflow (its own schema, JSON paths) → this server's
 * limits → the tokenizer the client prepared it for → the backend's own check (tokenizer can
 * encode the patterns, tools registered) → sampling options against the vocabulary.
 */
import { z } from "zod";
import type { ForgeBackend } from "../../session/backend.js";
import type { SzcpWorkflow } from "../../szcp/types.js";
import { deserializeWorkflow, deserializeWorkflowInSlices, sealWorkflow, SzcpError, workflowSha256 } from "../../szcp/index.js";
import { issuePath } from "../../engine/options.js";
import { resolveSampling } from "../../sampler/index.js";
import { vocabularyOf } from "../../lzcp/vocabulary.js";
import { buildTriggerTableInSlices } from "../../ttfa/trigger.js";
import { buildConstraintTableInSlices, constraintRequests } from "../../ttfa/constraint.js";
import { HttpError } from "./errors.js";
import type { Pause } from "./lane.js";
import { submitBodySchema, type ServerLimits, type WireRequestOptions } from "./types.js";

// The submit body (types.ts), with the workflow taken as it comes: it is validated next, in
// slices and with paths from `$.workflow` (deserializeWorkflowInSlices), not by this schema.
const bodySchema = submitBodySchema.extend({ workflow: z.unknown().refine((v) => v !== undefined, "required") });

export interface AdmittedRequest {
  workflow: SzcpWorkflow;
  options: WireRequestOptions;
}

/** Validates a request body for this backend; throws HttpError (400 / 422) saying where and what. */
export function admitRequest(body: unknown, backend: ForgeBackend, limits: ServerLimits): AdmittedRequest {
  const parsed = checkBody(body);
  let workflow: SzcpWorkflow;
  try {
    workflow = deserializeWorkflow(parsed.workflow);
  } catch (err) {
    if (err instanceof SzcpError) throw workflowError(err);
    throw err;
  }
  return checkForBackend(workflow, parsed, backend, limits);
}

type Body = z.infer<typeof bodySchema>;

/** The request's envelope: {workflow, options?, tokenizer?}. */
function checkBody(body: unknown): Body {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new HttpError(400, "invalid_request", `the request body must be a JSON object {workflow, options?, tokenizer?}, got ${describe(body)}`);
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const paths = parsed.error.issues.slice(0, 5).map((issue) => issuePath("$", issue));
    const issues = parsed.error.issues.slice(0, 5).map((issue, i) => `${paths[i]}: ${issue.message}`);
    throw new HttpError(400, "invalid_request", `invalid request body at ${issues.join("; ")}`, { path: paths[0] });
  }
  return parsed.data;
}

/** This server's limits, the tokenizer, the backend's own check (compiles the workflow), the sampling options. */
function checkForBackend(workflow: SzcpWorkflow, parsed: Body, backend: ForgeBackend, limits: ServerLimits): AdmittedRequest {
  const options = parsed.options ?? {};
  checkLimits(options, limits);

  const info = backend.info();
  const declared = parsed.tokenizer ?? workflow.meta.tokenizer;
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

/**
 * An invalid workflow as the client sees it: paths from the request body's root
 * (`$.workflow.…`); a field over one of SZCP_LIMITS is 422 limit_exceeded naming the limit,
 * anything else 400 invalid_workflow.
 */
export function workflowError(err: SzcpError): HttpError {
  const path = err.path.replace(/^\$/, "$.workflow");
  const message = err.message.replace(/ at \$/g, " at $.workflow");
  if (err.limit) return new HttpError(422, "limit_exceeded", message, { path, limit: { name: `SZCP_LIMITS.${err.limit.name}`, value: err.limit.value } });
  return new HttpError(400, "invalid_workflow", message, { path });
}

/**
 * `admitRequest` for the server's event loop: the same stages and errors, with a pause
 * (a turn of the admission lane, lane.ts) between stages and between slices of zones, so
 * no stage holds the loop for long. The compile it ends with is cached (forge/ttfa
 * compile-cache.ts): the job's run does not compile the workflow again.
 */
export async function admitRequestInSlices(body: unknown, backend: ForgeBackend, limits: ServerLimits, pause: Pause): Promise<AdmittedRequest> {
  const parsed = checkBody(body);
  let workflow: SzcpWorkflow;
  try {
    workflow = await deserializeWorkflowInSlices(parsed.workflow, pause);
  } catch (err) {
    if (err instanceof SzcpError) throw workflowError(err);
    throw err;
  }
  // Sealed (frozen, hash memoized): the compile below and the job's run share one hash and one program.
  await pause();
  sealWorkflow(workflow);
  await pause();
  workflowSha256(workflow);
  await pause();
  // The trigger table is the compile's one large piece (states × vocabulary cells: a second or
  // more on a 128k vocabulary): built here in slices, the compile below finds it cached.
  await buildTriggerTableInSlices(triggerPatterns(workflow), vocabularyOf(backend.tokenizer), pause).catch(() => undefined);
  await pause();
  // So are the constrained zones' token tables (seconds under GPT-2 for a few hundred states);
  // a ConstraintError is kept and thrown by the compile, in its place among the checks.
  await buildConstraintTableInSlices(constraintRequests(workflow.zones, (z) => workflow.zones[z]!.advance, workflow.config.controlToken), vocabularyOf(backend.tokenizer), pause).catch(() => undefined);
  await pause();
  return checkForBackend(workflow, parsed, backend, limits);
}

/** The trigger patterns in the order lowering lists them (forge/lzcp/lower.ts); another order only misses the cache. */
function triggerPatterns(workflow: SzcpWorkflow): string[] {
  const { zoneTokens, controlToken, escape } = workflow.config;
  const escapes = escape === null ? [] : escape.kind === "single" ? [escape.token] : [escape.open, escape.close];
  const patterns: string[] = [];
  for (const p of [...zoneTokens, ...workflow.zones.map((z) => z.advance), controlToken, ...escapes]) if (!patterns.includes(p)) patterns.push(p);
  return patterns;
}

export function checkLimits(options: WireRequestOptions, limits: ServerLimits): void {
  const over = (field: keyof WireRequestOptions, value: number, limit: number, what: string) => {
    const name = `limits.${field === "batchSize" ? "maxBatchSize" : field === "instances" ? "maxInstances" : field === "maxTokens" ? "maxTokens" : "maxToolTimeoutMs"}`;
    throw new HttpError(422, "limit_exceeded", `options.${field} = ${value} exceeds this server's limit of ${limit} ${what}`, {
      path: `$.options.${field}`,
      limit: { name, value: limit },
    });
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
      { path: "$.options.instances", limit: { name: "limits.maxTotalTokens", value: limits.maxTotalTokens } },
    );
  if (options.toolTimeoutMs !== undefined && options.toolTimeoutMs > limits.maxToolTimeoutMs)
    over("toolTimeoutMs", options.toolTimeoutMs, limits.maxToolTimeoutMs, "ms");
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
