/**
 * What crosses Redis, both ways. A job's data is checked on the worker (anything may sit in
 * a queue: an older client, a typo'd producer), and a result is decoded on the session with
 * the HTTP server's Run codec: trace columns as base64 of their little-endian bytes, so
 * `decodeJobResult(encodeJobResult(run))` deep-equals `run`, typed-array classes included.
 */
import { z } from "zod";
import type { Run } from "../run/types.js";
import type { RequestOptions } from "../engine/types.js";
import type { SzcpWorkflow } from "../szcp/types.js";
import { deserializeWorkflow } from "../szcp/index.js";
import { wireOptions } from "../server/request.js";
import { decodeRun, encodeRun } from "../server/wire.js";
import type { JobRange, QueueJobData, QueueJobResult } from "./types.js";

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const jobDataSchema = z.object({
  format: z.literal("forge.job"),
  version: z.literal(1),
  requestId: z.string().min(1),
  part: count,
  parts: count,
  workflow: z.record(z.string(), z.unknown()),
  options: z.record(z.string(), z.unknown()),
  firstInstance: count,
  instances: count.min(1),
  tokenizer: z.string().optional(),
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

/** A job's data as the worker trusts it: shape checked, workflow validated. Throws Error saying where. */
export function decodeJobData(value: unknown): { data: QueueJobData; workflow: SzcpWorkflow } {
  const parsed = jobDataSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`the job's data is not a Forge job (at ${issue.path.join(".") || "the top level"}: ${issue.message})`);
  }
  const data = value as QueueJobData;
  return { data, workflow: deserializeWorkflow(data.workflow) };
}

export function encodeJobResult(run: Run): QueueJobResult {
  return encodeRun(run, "base64");
}

export function decodeJobResult(value: unknown): Run {
  return decodeRun(typeof value === "string" ? JSON.parse(value) : value);
}
