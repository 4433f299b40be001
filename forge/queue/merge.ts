/**
 * Merging the jobs' Runs into the Run of the whole request. Each part was derived on its
 * worker (paths, extractions, statistics); these are per stream or sums over streams, so the
 * merge concatenates the per-stream parts in instance order and adds the sums — the result
 * equals `deriveRun` over all streams at once, without needing the tokenizer here.
 */
import type { SzcpWorkflow } from "../szcp/types.js";
import type { JumpSiteStatistics, LoopStatistics, Run, RunMetadata, RunStatistics, StreamStatus, StreamTrace } from "../run/types.js";
import { deriveStatistics } from "../run/index.js";
import { workflowHash } from "../szcp/index.js";
import { QueueMergeError } from "./errors.js";
import type { JobRange } from "./types.js";

const STATUSES: readonly StreamStatus[] = ["done", "truncated", "timeout", "interrupted", "tool_error"];

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
 * Throws QueueMergeError when an instance is missing or appears twice.
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
  return { meta, workflow: request.workflow, streams, extractions, paths, statistics: mergeStatistics(ordered.map((p) => p.statistics)) };
}

/** Every instance of the request exactly once, each part's streams contiguous. */
function checkCoverage(parts: Run[], request: MergeRequest): void {
  let expected = request.firstInstance;
  for (const part of parts) {
    for (const stream of part.streams) {
      if (stream.instance !== expected) {
        const what = stream.instance < expected ? `instance ${stream.instance} appears twice` : `instance ${expected} is missing`;
        throw new QueueMergeError(what);
      }
      expected++;
    }
  }
  const end = request.firstInstance + request.instances;
  if (expected !== end) throw new QueueMergeError(expected < end ? `instances ${expected}…${end - 1} are missing` : `instance ${end} is beyond the request`);
}

/** Sums and concatenations of the parts' statistics (jump sites and loops in zone order, as derived). */
export function mergeStatistics(parts: RunStatistics[]): RunStatistics {
  const jumpSites = new Map<number, JumpSiteStatistics>();
  const loops = new Map<number, LoopStatistics>();
  const bySequence: Record<string, { generated: number; forced: number }> = {};
  const status = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<StreamStatus, number>;
  const merged: RunStatistics = { jumpSites: [], loops: [], generatedTokens: [], forcedTokens: [], length: [], bySequence, status };
  for (const part of parts) {
    for (const site of part.jumpSites) {
      const into = jumpSites.get(site.zoneId);
      if (!into) jumpSites.set(site.zoneId, { ...site });
      else {
        into.visits += site.visits;
        into.taken += site.taken;
        into.forced += site.forced;
        into.streamsTaking += site.streamsTaking;
      }
    }
    for (const loop of part.loops) {
      const into = loops.get(loop.zoneId);
      if (!into) loops.set(loop.zoneId, { ...loop, iterations: [...loop.iterations] });
      else into.iterations.push(...loop.iterations);
    }
    merged.generatedTokens.push(...part.generatedTokens);
    merged.forcedTokens.push(...part.forcedTokens);
    merged.length.push(...part.length);
    for (const [sequence, counts] of Object.entries(part.bySequence)) {
      bySequence[sequence] ??= { generated: 0, forced: 0 };
      bySequence[sequence].generated += counts.generated;
      bySequence[sequence].forced += counts.forced;
    }
    for (const s of STATUSES) status[s] += part.status[s] ?? 0;
  }
  merged.jumpSites = [...jumpSites.values()].sort((a, b) => a.zoneId - b.zoneId);
  merged.loops = [...loops.values()].sort((a, b) => a.zoneId - b.zoneId);
  return merged;
}

/**
 * The Run of a job that never ran because the request was cancelled while it waited: its
 * instances are there, empty and marked interrupted, as the engine marks instances it never
 * started. No tokens, so nothing needs the tokenizer.
 */
export function unstartedRun(workflow: SzcpWorkflow, range: JobRange, request: MergeRequest): Run {
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
    interrupted: true,
    sampling: {},
  };
  return { meta, workflow, streams, extractions, paths, statistics: deriveStatistics(workflow, streams, paths, -1) };
}
