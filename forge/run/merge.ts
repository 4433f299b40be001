/**
 * Merging Runs of parts of one request (the jobs of a queued request, forge/transport/queue)
 * into the Run of the whole. Each part was derived where it ran (paths, extractions,
 * statistics); these are per stream or sums over streams, so the merge concatenates the
 * per-stream parts in instance order and adds the sums with derive.ts's own accumulator — the
 * result equals `deriveRun` over all streams at once, without needing the tokenizer here. The
 * metadata sums what the engine sums over its waves (steps, forwardTokens) and keeps what it
 * keeps once (sharedPrefixTokens: the longest), so a queued Run's metadata reads like a direct one's.
 */
import type { SzcpWorkflow } from "../szcp/types.js";
import type { Run, RunMetadata, RunStatistics, StreamTrace } from "./types.js";
import { deriveStatistics, StatisticsAccumulator } from "./derive.js";
import { workflowHash } from "../szcp/index.js";
import { RunMergeError } from "./errors.js";

/** A contiguous range of a request's instances (a queue job's share). */
export interface InstanceRange {
  firstInstance: number;
  instances: number;
}

/** What the request was: fills the merged Run's metadata. */
export interface MergeRequest {
  workflow: SzcpWorkflow;
  seed: number;
  batchSize: number;
  firstInstance: number;
  instances: number;
  startedAt: Date;
  /** Set when the request was cancelled (also true when any part was interrupted). */
  interrupted?: boolean;
}

/**
 * Concatenates the parts (any order) into one Run over instances firstInstance … +instances−1.
 * Throws RunMergeError when an instance is missing or appears twice.
 */
export function mergeRuns(parts: Run[], request: MergeRequest): Run {
  const ordered = [...parts].sort((a, b) => (a.streams[0]?.instance ?? 0) - (b.streams[0]?.instance ?? 0));
  checkCoverage(ordered, request);
  const streams = ordered.flatMap((p) => p.streams);
  const paths = ordered.flatMap((p) => p.paths);
  const extractions: Record<string, string[]> = {};
  for (const extraction of request.workflow.extractions) {
    extractions[extraction.name] = ordered.flatMap((p) => p.extractions[extraction.name] ?? p.streams.map(() => ""));
  }
  const first = ordered.find((p) => p.streams.some((s) => s.tokens.length > 0)) ?? ordered[0];
  const distinct = (pick: (m: RunMetadata) => string) => [...new Set(ordered.map((p) => pick(p.meta)).filter((v) => v !== ""))].join(",");
  const meta: RunMetadata = {
    runId: crypto.randomUUID(),
    seed: request.seed,
    workflowHash: workflowHash(request.workflow),
    backend: distinct((m) => m.backend),
    model: distinct((m) => m.model),
    tokenizer: distinct((m) => m.tokenizer),
    batchSize: request.batchSize,
    instances: request.instances,
    startedAt: request.startedAt.toISOString(),
    wallMs: Date.now() - request.startedAt.getTime(),
    steps: ordered.reduce((sum, p) => sum + p.meta.steps, 0),
    interrupted: (request.interrupted ?? false) || ordered.some((p) => p.meta.interrupted),
    sampling: first?.meta.sampling ?? {},
  };
  // Recorded by newer engines only: kept when some part has them, as the backend is.
  for (const field of ["engine", "device"] as const) {
    const values = distinct((m) => m[field] ?? "");
    if (values !== "") meta[field] = values;
  }
  const forward = ordered.filter((p) => p.meta.forwardTokens !== undefined);
  if (forward.length > 0) meta.forwardTokens = forward.reduce((sum, p) => sum + p.meta.forwardTokens!, 0);
  const prefixes = ordered.map((p) => p.meta.sharedPrefixTokens).filter((n): n is number => n !== undefined);
  if (prefixes.length > 0) meta.sharedPrefixTokens = Math.max(...prefixes);
  const run: Run = {
    meta,
    workflow: request.workflow,
    streams,
    extractions,
    paths,
    statistics: mergeStatistics(request.workflow, ordered.map((p) => p.statistics)),
  };
  // Choice scores are per instance: the parts' lists, in instance order, are the request's.
  if (ordered.some((p) => p.choices !== undefined)) run.choices = ordered.flatMap((p) => p.choices ?? []);
  if (ordered.some((p) => p.decisions !== undefined)) run.decisions = ordered.flatMap((p) => p.decisions ?? []);
  return run;
}

/** Every instance of the request exactly once, each part's streams contiguous. */
function checkCoverage(parts: Run[], request: MergeRequest): void {
  let expected = request.firstInstance;
  for (const part of parts) {
    for (const stream of part.streams) {
      if (stream.instance !== expected) {
        const what = stream.instance < expected ? `instance ${stream.instance} appears twice` : `instance ${expected} is missing`;
        throw new RunMergeError(what);
      }
      expected++;
    }
  }
  const end = request.firstInstance + request.instances;
  if (expected !== end) throw new RunMergeError(expected < end ? `instances ${expected}…${end - 1} are missing` : `instance ${end} is beyond the request`);
}

/** The parts' statistics added up (derive.ts's accumulator): sums, per-stream lists concatenated in part order. */
export function mergeStatistics(workflow: SzcpWorkflow, parts: RunStatistics[]): RunStatistics {
  const statistics = new StatisticsAccumulator(workflow);
  for (const part of parts) statistics.addStatistics(part);
  return statistics.result();
}

/**
 * The Run of a job that never ran because the request was cancelled while it waited: its
 * instances are there, empty and marked interrupted, as the engine marks instances it never
 * started. No tokens, so nothing needs the tokenizer.
 */
export function unstartedRun(workflow: SzcpWorkflow, range: InstanceRange, request: MergeRequest): Run {
  const streams: StreamTrace[] = Array.from({ length: range.instances }, (_, k) => ({
    instance: range.firstInstance + k,
    tokens: new Int32Array(0),
    pcs: new Int32Array(0),
    forced: new Uint8Array(0),
    events: [],
    status: "interrupted",
    message: "the request was cancelled before this instance started",
  }));
  const paths = streams.map(() => []);
  const extractions = Object.fromEntries(workflow.extractions.map((e) => [e.name, streams.map(() => "")]));
  const meta: RunMetadata = {
    runId: crypto.randomUUID(),
    seed: request.seed,
    workflowHash: workflowHash(workflow),
    backend: "",
    model: "",
    tokenizer: "",
    batchSize: request.batchSize,
    instances: range.instances,
    startedAt: request.startedAt.toISOString(),
    wallMs: 0,
    steps: 0,
    forwardTokens: 0,
    sharedPrefixTokens: 0,
    interrupted: true,
    sampling: {},
  };
  return { meta, workflow, streams, extractions, paths, statistics: deriveStatistics(workflow, streams, paths, -1) };
}
