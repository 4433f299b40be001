/**
 * Request options, declared once. `requestOptionsSchema` is the only place an option is
 * written down; from it come the wire type (`WireRequestOptions`, z.infer), the keys that
 * cross a process boundary (`WIRE_OPTION_KEYS`), the validation of every untrusted copy
 * (the HTTP server's admission, the queue worker's job data: `parseWireOptions`) and the
 * JSON Schema of the OpenAPI document (scripts/openapi.ts, through `z.toJSONSchema`).
 * `RequestOptions` adds what only exists in process: the AbortSignal, the progress callback,
 * and the id of the first instance (a partition of a larger request).
 */
import { z } from "zod";
import { ForgeError } from "../errors.js";
import { jsonPath } from "../szcp/errors.js";
import type { AutomatonKind } from "./automaton.js";
import type { ProgressListener } from "./progress.js";
import { MAX_TOP_LOGPROBS } from "../instruments/logprobs.js";

const positiveInt = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** Streams one replay request may ask for, and the characters one forced text may have. */
export const MAX_REPLAY_STREAMS = 4_096;
export const MAX_REPLAY_FORCE_CHARS = 4_096;

/** Request options that can cross the wire (an HTTP body's `options`, a queue job's `options`). */
export const requestOptionsSchema = z
  .strictObject({
    batchSize: positiveInt.optional().meta({ description: "Streams decoded together (slots). Default 32; on a server at most limits.maxBatchSize." }),
    instances: positiveInt
      .optional()
      .meta({ description: "Workflow instances to run; default = batchSize, more run in successive waves. On a server at most limits.maxInstances." }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .meta({ description: "Seed of the per-instance random draws (default 0). Same seed, same results, direct, remote or queued." }),
    maxTokens: positiveInt
      .optional()
      .meta({
        description:
          "Cap on each stream's tokens (prompt + generated); default and ceiling: the model's context length. On a server at most limits.maxTokens, and instances × maxTokens at most limits.maxTotalTokens.",
      }),
    greedy: z.boolean().optional().meta({ description: "Take the most likely token (ignores the other sampling options)." }),
    temperature: z.number().min(0).max(1e6).optional().meta({ description: "Divide logits by this before softmax; 0 means greedy. Default: the model's generation_config.json, else 1." }),
    topK: positiveInt.optional().meta({ description: "Keep only the k most likely tokens." }),
    topP: z.number().gt(0).max(1).optional().meta({ description: "Keep the smallest set of most likely tokens whose probability reaches p (nucleus)." }),
    toolTimeoutMs: positiveInt
      .optional()
      .meta({ description: "Milliseconds a tool may take before its stream ends with tool_error. Default 30 000; on a server at most limits.maxToolTimeoutMs." }),
    prefill: z
      .boolean()
      .optional()
      .meta({ description: "Shared-prefix prefill: compute the forced text common to all streams once, at batch 1, and hold its KV cache once (default true)." }),
    continuousBatching: z
      .boolean()
      .optional()
      .meta({ description: "With more instances than batchSize, a slot whose stream finished takes the next instance at once (default true)." }),
    shrinkBatch: z
      .boolean()
      .optional()
      .meta({ description: "Once no instance is left to start, finished rows leave the model's batch; host automaton only (default true)." }),
    feedChunk: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .meta({ description: "Forced prompt tokens a stream may feed in one forward (default 1: off); needs the host automaton." }),
    automaton: z
      .enum(["tensor", "host"])
      .optional()
      .meta({ description: 'Automaton form: "tensor" (tfjs ops, for GPU backends) or "host" (typed arrays); default by backend.' }),
    logprobs: z
      .union([
        z.boolean(),
        z.strictObject({
          top: z.number().int().min(0).max(MAX_TOP_LOGPROBS).optional(),
          decisions: z
            .enum(["estimate", "exact"])
            .optional()
            .meta({ description: 'run.decisions\' pJump: "estimate" (default: the walked path\'s hazards, free) or "exact" (over every tokenization of the control pattern the trigger table accepts; one probe forward per jump-site visit).' }),
        }),
      ])
      .optional()
      .meta({
        description: `Per-step log-probabilities in each stream's trace: the token's under the model and under the sampling distribution, the jump hazard inside jump sites, and with { top: k } (k ≤ ${MAX_TOP_LOGPROBS}) the k best alternatives; { decisions: "exact" } makes run.decisions' pJump exact. Default off.`,
      }),
    replay: z
      .array(
        z.strictObject({
          instance: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ description: "The workflow instance to run again (its draws are keyed by seed, instance and step)." }),
          step: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().meta({ description: "Index into the stream's trace where `force` begins; it must be a step the model sampled." }),
          force: z.string().max(MAX_REPLAY_FORCE_CHARS).optional().meta({ description: "Text emitted from `step` on as if the model had sampled it (e.g. the control pattern); sampling goes on after it." }),
        }),
      )
      .min(1)
      .max(MAX_REPLAY_STREAMS)
      .optional()
      .meta({
        description: `Counterfactual replay: one stream per entry (at most ${MAX_REPLAY_STREAMS}), instead of instances/firstInstance. With the original run's seed and sampling, a stream reproduces the original up to step, emits force there, then samples on.`,
      }),
  })
  .meta({
    description: "Request options that cross the wire: the in-process RequestOptions without its callbacks.",
    examples: [{ batchSize: 8, instances: 32, seed: 1, temperature: 0.7, topP: 0.95 }, { batchSize: 4, seed: 0, greedy: true, automaton: "host", feedChunk: 16 }],
  });

/** Request options that can cross the wire: RequestOptions minus the in-process callbacks. */
export type WireRequestOptions = z.infer<typeof requestOptionsSchema>;

/** What a request asks for, in process: the wire options plus what cannot leave the process. */
export interface RequestOptions extends WireRequestOptions {
  /** Id of the first instance (a partition of a larger request: instances firstInstance … firstInstance+instances−1). Default 0. */
  firstInstance?: number;
  /** Interrupts the run within one step; the partial results come back marked interrupted. */
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** Every option that crosses the wire, in declaration order. */
export const WIRE_OPTION_KEYS = Object.keys(requestOptionsSchema.shape) as readonly (keyof WireRequestOptions)[];

// The schema's automaton values are the engine's automaton kinds, no more, no fewer.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const automatonKindsAgree: Same<NonNullable<WireRequestOptions["automaton"]>, AutomatonKind> = true;
void automatonKindsAgree;

/** The wire subset of in-process request options (callbacks and signals stay home). */
export function wireOptions(options: RequestOptions): WireRequestOptions {
  const out: Record<string, unknown> = {};
  for (const key of WIRE_OPTION_KEYS) if (options[key] !== undefined) out[key] = options[key];
  return out as WireRequestOptions;
}

/** Request options that do not match the schema; `where` is the JSON path of the first bad field. */
export class RequestOptionsError extends ForgeError {
  readonly code: string = "request_options_invalid";
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
    this.name = "RequestOptionsError";
  }
}

/** JSON path of a zod issue from `root` (`$`, `$.options`), an unknown key included (`$.options.batchsize`). */
export function issuePath(root: string, issue: z.core.$ZodIssue): string {
  const path = issue.code === "unrecognized_keys" && issue.keys.length ? [...issue.path, issue.keys[0]!] : issue.path;
  return root + jsonPath(path).slice(1);
}

/**
 * Options from an untrusted source (a queue job's data, a file), checked against the one
 * schema; `root` is the JSON path they sit at (`$.options`). Throws RequestOptionsError naming
 * the field and what is wrong with it.
 */
export function parseWireOptions(value: unknown, root = "$.options", schema: z.ZodType<WireRequestOptions> = requestOptionsSchema): WireRequestOptions {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issuePath(root, issue);
  throw new RequestOptionsError(`invalid request options at ${where}: ${issue.message}`, where);
}
