/**
 * What comes out of a run (docs/engine.md#what-a-run-yields): from the per-stream traces and the workflow,
 * derive the branch paths, the extractions and the statistics. Pure functions, no tensors.
 *
 * Trace semantics (shared with the reference interpreter): `pcs[k]` is the zone in which
 * token k was emitted, before the transition that token caused; an event's `step` is the
 * index of the token that caused it. So a zone visit is a run of steps with one pc, and
 * the event that ended it sits on the visit's last step.
 *
 * Stages, in order: validate each trace → cut it into path segments → read extractions
 * and statistics off the segments.
 */
import type { SzcpWorkflow } from "../szcp/types.js";
import type { ForgeTokenizer } from "../tokenizer/types.js";
import { RunStatisticsError, RunTraceError } from "./errors.js";
import type {
  JumpSiteStatistics,
  LoopStatistics,
  PathSegment,
  Run,
  RunMetadata,
  RunStatistics,
  StreamStatus,
  StreamTrace,
  TraceEventKind,
} from "./types.js";

export interface DeriveRunInput {
  meta: RunMetadata;
  workflow: SzcpWorkflow;
  streams: StreamTrace[];
}

/** Event kinds that move the stream to another zone (they carry `target`). */
const TRANSITIONS: ReadonlySet<TraceEventKind> = new Set(["advance", "jump", "forced_exit"]);
/** Transitions that leave by the jump edge rather than the nominal one. */
const JUMP_EXITS: ReadonlySet<TraceEventKind> = new Set(["jump", "forced_exit"]);

const STATUSES: readonly StreamStatus[] = ["done", "truncated", "timeout", "interrupted", "tool_error"];

/**
 * Build the Run the engine returns at the end of a request. Streams are put in instance
 * order; every per-stream array of the result follows that order.
 */
export function deriveRun(input: DeriveRunInput, tokenizer: ForgeTokenizer): Run {
  const { meta, workflow } = input;
  const streams = [...input.streams].sort((a, b) => a.instance - b.instance);
  streams.forEach((trace, i) => validateTrace(workflow, trace, i));
  const paths = streams.map((trace) => streamPath(workflow, trace));
  return {
    meta,
    workflow,
    streams,
    extractions: deriveExtractions(workflow, streams, paths, tokenizer),
    paths,
    statistics: deriveStatistics(workflow, streams, paths, tokenizer.padId),
  };
}

/** Check that a trace fits its workflow; throws RunTraceError naming the stream and step. */
export function validateTrace(workflow: SzcpWorkflow, trace: StreamTrace, stream: number): void {
  const n = trace.tokens.length;
  if (trace.pcs.length !== n || trace.forced.length !== n) {
    throw new RunTraceError(
      stream,
      null,
      `tokens, pcs and forced must have one entry per step (got ${n}, ${trace.pcs.length}, ${trace.forced.length})`,
    );
  }
  const zoneCount = workflow.zones.length;
  for (let k = 0; k < n; k++) {
    const pc = trace.pcs[k]!;
    if (pc < 0 || pc >= zoneCount) {
      throw new RunTraceError(stream, k, `pc ${pc} is not a zone of the workflow (it has ${zoneCount} zones)`);
    }
  }
  for (const event of trace.events) {
    if (!TRANSITIONS.has(event.kind)) continue;
    if (event.step < 0 || event.step >= n) {
      throw new RunTraceError(stream, event.step, `${event.kind} event points past the trace (${n} steps)`);
    }
    if (event.zone !== trace.pcs[event.step]) {
      throw new RunTraceError(
        stream,
        event.step,
        `${event.kind} event says zone ${event.zone} but the token was emitted in zone ${trace.pcs[event.step]}`,
      );
    }
  }
}

/**
 * The branch path of one stream: maximal runs of steps in one zone. A transition event
 * also ends a segment, so a zone that led back to itself still shows two visits.
 */
export function streamPath(workflow: SzcpWorkflow, trace: StreamTrace): PathSegment[] {
  const n = trace.tokens.length;
  const leaves = new Map<number, boolean>(); // step → left by a jump edge?
  for (const event of trace.events) {
    if (TRANSITIONS.has(event.kind)) leaves.set(event.step, (leaves.get(event.step) ?? false) || JUMP_EXITS.has(event.kind));
  }
  const segments: PathSegment[] = [];
  let start = 0;
  for (let k = 0; k < n; k++) {
    const last = k === n - 1 || trace.pcs[k + 1] !== trace.pcs[k] || leaves.has(k);
    if (!last) continue;
    const zoneId = trace.pcs[k]!;
    const zone = workflow.zones[zoneId]!;
    segments.push({
      zoneId,
      sequence: zone.sequence,
      block: zone.block,
      zone: zone.zone,
      repetition: zone.repetition,
      stepStart: start,
      stepEnd: k + 1,
      jumped: leaves.get(k) ?? false,
    });
    start = k + 1;
  }
  return segments;
}

/** Per extraction name, per stream: the text of the tagged zones, one line per zone visit. */
export function deriveExtractions(
  workflow: SzcpWorkflow,
  streams: StreamTrace[],
  paths: PathSegment[][],
  tokenizer: ForgeTokenizer,
): Record<string, string[]> {
  // Longest first, so a pattern that contains another is removed whole.
  const patterns = [...workflow.config.zoneTokens].sort((a, b) => b.length - a.length);
  const result: Record<string, string[]> = {};
  for (const extraction of workflow.extractions) {
    const wanted = new Set(extraction.tags);
    const tagged = workflow.zones.map((zone) => zone.tags.some((tag) => wanted.has(tag)));
    result[extraction.name] = streams.map((trace, i) => {
      const pieces: string[] = [];
      for (const segment of paths[i]!) {
        if (!tagged[segment.zoneId]) continue;
        const ids: number[] = [];
        for (let k = segment.stepStart; k < segment.stepEnd; k++) {
          if (trace.tokens[k] !== tokenizer.padId) ids.push(trace.tokens[k]!);
        }
        let text = tokenizer.decode(ids);
        for (const pattern of patterns) text = text.split(pattern).join("");
        text = text.trim();
        if (text !== "") pieces.push(text);
      }
      return pieces.join("\n");
    });
  }
  return result;
}

/** Jump sites, loops, token counts and statuses (see RunStatistics). */
export function deriveStatistics(
  workflow: SzcpWorkflow,
  streams: StreamTrace[],
  paths: PathSegment[][],
  padId: number,
): RunStatistics {
  const statistics = new StatisticsAccumulator(workflow);
  streams.forEach((trace, i) => statistics.addStream(trace, paths[i]!, padId));
  return statistics.result();
}

/**
 * Statistics of a workflow's streams, in any number of pieces: stream by stream (deriveStatistics)
 * or part by part (forge/run/merge.ts: the Runs of a request's jobs, each derived on its worker).
 * Every field is per stream (concatenated in the order added) or a sum over streams, so both
 * ways of adding give the same result for the same streams in the same order.
 */
export class StatisticsAccumulator {
  private readonly jumpSites = new Map<number, JumpSiteStatistics>();
  private readonly loops = new Map<number, LoopStatistics>();
  private readonly bySequence: Record<string, { generated: number; forced: number }> = {};
  private readonly status = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<StreamStatus, number>;
  private readonly generatedTokens: number[] = [];
  private readonly forcedTokens: number[] = [];
  private readonly length: number[] = [];

  constructor(private readonly workflow: SzcpWorkflow) {
    workflow.zones.forEach((zone, zoneId) => {
      this.bySequence[zone.sequence] ??= { generated: 0, forced: 0 };
      if (zone.jump === null) return;
      this.jumpSites.set(zoneId, { zoneId, sequence: zone.sequence, block: zone.block, visits: 0, taken: 0, forced: 0, streamsTaking: 0 });
      if (zone.loop !== null) this.loops.set(zoneId, { zoneId, sequence: zone.sequence, iterations: [] });
    });
  }

  /** One stream's trace and its path. */
  addStream(trace: StreamTrace, path: PathSegment[], padId: number): void {
    this.status[trace.status] = (this.status[trace.status] ?? 0) + 1;
    this.length.push(trace.tokens.length);

    // Padding (a stream holding for its tool) is neither generated nor forced text.
    let generated = 0;
    let forced = 0;
    for (let k = 0; k < trace.tokens.length; k++) {
      if (trace.tokens[k] === padId) continue;
      const counts = this.bySequence[this.workflow.zones[trace.pcs[k]!]!.sequence]!;
      if (trace.forced[k]) {
        forced++;
        counts.forced++;
      } else {
        generated++;
        counts.generated++;
      }
    }
    this.generatedTokens.push(generated);
    this.forcedTokens.push(forced);

    const tookJumpAt = new Set<number>();
    for (const event of trace.events) {
      const site = this.jumpSites.get(event.zone);
      if (!site) continue;
      if (event.kind === "jump") {
        site.taken++;
        tookJumpAt.add(event.zone);
      } else if (event.kind === "forced_exit") site.forced++;
    }
    for (const zoneId of tookJumpAt) this.jumpSites.get(zoneId)!.streamsTaking++;

    for (const segment of path) {
      const site = this.jumpSites.get(segment.zoneId);
      if (site) site.visits++;
    }
    for (const [zoneId, loop] of this.loops) loop.iterations.push(loopIterations(path, zoneId));
  }

  /**
   * The statistics of other streams of the same workflow, derived elsewhere (a job's Run).
   * Throws RunStatisticsError when they name a jump site, loop or sequence this workflow lacks.
   */
  addStatistics(part: RunStatistics): void {
    for (const site of part.jumpSites) {
      const into = this.jumpSites.get(site.zoneId);
      if (!into) throw new RunStatisticsError(`jump site ${site.zoneId} is not a jump site of the workflow`);
      into.visits += site.visits;
      into.taken += site.taken;
      into.forced += site.forced;
      into.streamsTaking += site.streamsTaking;
    }
    for (const loop of part.loops) {
      const into = this.loops.get(loop.zoneId);
      if (!into) throw new RunStatisticsError(`loop ${loop.zoneId} is not a loop of the workflow`);
      into.iterations.push(...loop.iterations);
    }
    this.generatedTokens.push(...part.generatedTokens);
    this.forcedTokens.push(...part.forcedTokens);
    this.length.push(...part.length);
    for (const [sequence, counts] of Object.entries(part.bySequence)) {
      const into = Object.hasOwn(this.bySequence, sequence) ? this.bySequence[sequence]! : undefined;
      if (!into) throw new RunStatisticsError(`sequence ${JSON.stringify(sequence)} is not a sequence of the workflow`);
      into.generated += counts.generated;
      into.forced += counts.forced;
    }
    for (const s of STATUSES) this.status[s] += part.status[s] ?? 0;
  }

  /** The statistics so far (jump sites and loops in zone order). */
  result(): RunStatistics {
    return {
      jumpSites: [...this.jumpSites.values()].map((site) => ({ ...site })),
      loops: [...this.loops.values()].map((loop) => ({ ...loop, iterations: [...loop.iterations] })),
      generatedTokens: [...this.generatedTokens],
      forcedTokens: [...this.forcedTokens],
      length: [...this.length],
      bySequence: Object.fromEntries(Object.entries(this.bySequence).map(([k, v]) => [k, { ...v }])),
      status: { ...this.status },
    };
  }
}

/**
 * Body iterations completed in one stream for the loop headed by `siteZone`: each entry of
 * the loop visits the head's jump site once per iteration plus once more to leave (or to be
 * cut off), so an entry contributes visits − 1. An entry ends when the site is left by its
 * jump edge (the loop exit); visits in between are the body returning to the head.
 */
export function loopIterations(path: PathSegment[], siteZone: number): number {
  let total = 0;
  let visitsThisEntry = 0;
  for (const segment of path) {
    if (segment.zoneId !== siteZone) continue;
    visitsThisEntry++;
    if (segment.jumped) {
      total += visitsThisEntry - 1;
      visitsThisEntry = 0;
    }
  }
  if (visitsThisEntry > 0) total += visitsThisEntry - 1;
  return total;
}

/** One stretch of a path spent in one run of a sequence (its consecutive zones). */
export interface SequenceVisit {
  sequence: string;
  stepStart: number;
  stepEnd: number;
  /** Index range into the path's segments. */
  segmentStart: number;
  segmentEnd: number;
  /** Left by a jump edge (taken or forced). */
  jumped: boolean;
}

/**
 * Group a path into sequence visits: a new visit starts when the sequence changes, when
 * the zone id does not increase (a loop went back to its head, the compiled zones of one
 * `run(seq)` are consecutive), or after a jump.
 */
export function sequenceVisits(path: PathSegment[]): SequenceVisit[] {
  const visits: SequenceVisit[] = [];
  path.forEach((segment, i) => {
    const previous = path[i - 1];
    const current = visits[visits.length - 1];
    const continues =
      previous !== undefined &&
      current !== undefined &&
      previous.sequence === segment.sequence &&
      segment.zoneId > previous.zoneId &&
      !previous.jumped;
    if (continues) {
      current.stepEnd = segment.stepEnd;
      current.segmentEnd = i + 1;
      current.jumped = segment.jumped;
    } else {
      visits.push({
        sequence: segment.sequence,
        stepStart: segment.stepStart,
        stepEnd: segment.stepEnd,
        segmentStart: i,
        segmentEnd: i + 1,
        jumped: segment.jumped,
      });
    }
  });
  return visits;
}

/**
 * The sequence-level signature of a path, e.g. "setup > control > reasoning > control".
 * Streams with the same signature took the same branches; it is the path id of datasets.
 */
export function pathSignature(path: PathSegment[]): string {
  return sequenceVisits(path)
    .map((visit) => visit.sequence)
    .join(" > ");
}

