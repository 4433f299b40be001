/**
 * The logprob instrument as a step observer (forge/engine/batch/step-record.ts): beside every
 * loop step it reads the logits rows once and, for each stream whose token this step was
 * sampled (not forced), records the token's logprobs (logprobs.ts), the top alternatives, and
 * inside jump sites the jump hazard (hazard.ts). At the end `attach` lays them along each
 * stream's trace: index i belongs to StreamTrace.tokens[i]; forced tokens get NaN (and id −1
 * alternatives), so the arrays line up with the token tables.
 * With exact decisions it also follows each stream's path segments (as run.paths cuts them)
 * and, at every jump-site visit's first sampled token, sums the control pattern's trie
 * (pattern-trie.ts) over that row and one probe forward of the trie's nodes (StepObservation.probe).
 */
import type { StepObservation, StepObserver, StepRecord } from "../engine/batch/step-record.js";
import type { StreamTrace } from "../run/types.js";
import type { ResolvedSampling } from "../sampler/options.js";
import { maskLogitsInPlace } from "../ttfa/mask.js";
import { TtfaEvent, type TtfaProgram } from "../ttfa/types.js";
import { InstrumentError } from "./errors.js";
import { advancesPattern, jumpHazard, patternProgress, type PatternProgress } from "./hazard.js";
import { LogprobScratch, MAX_TOP_LOGPROBS, tokenLogprob } from "./logprobs.js";
import { buildPatternTrie, trieProbability, type PatternTrie } from "./pattern-trie.js";

/** How run.decisions' pJump is computed: "estimate" (the walked path's hazards, free) or "exact" (a probe forward per visit; pattern-trie.ts). */
export type DecisionMode = "estimate" | "exact";
export const DECISION_MODES: readonly DecisionMode[] = ["estimate", "exact"];

/**
 * The request option `logprobs`: true, or `{ top: k }` for the k best alternatives per
 * generated step, and `decisions: "exact"` for exact decision probabilities.
 */
export type LogprobsOption = boolean | { top?: number; decisions?: DecisionMode };

export interface LogprobRequest {
  top: number;
  decisions: DecisionMode;
}

/** Validates the option; null when off. */
export function resolveLogprobs(option: LogprobsOption | undefined): LogprobRequest | null {
  if (option === undefined || option === false) return null;
  if (option === true) return { top: 0, decisions: "estimate" };
  const top = option.top ?? 0;
  if (!Number.isInteger(top) || top < 0 || top > MAX_TOP_LOGPROBS)
    throw new InstrumentError(`logprobs.top must be an integer from 0 to ${MAX_TOP_LOGPROBS}, got ${String(option.top)}`);
  const decisions = option.decisions ?? "estimate";
  if (!DECISION_MODES.includes(decisions)) throw new InstrumentError(`logprobs.decisions must be "estimate" or "exact", got ${JSON.stringify(option.decisions)}`);
  return { top, decisions };
}

/** What one stream collected: parallel arrays, one entry per sampled step. */
class StreamLogprobs {
  positions: number[] = [];
  model: number[] = [];
  sampling: number[] = [];
  hazard: number[] = [];
  /** Positions whose sampled token advanced or fired the control pattern (inside jump sites). */
  advanced = new Set<number>();
  topIds: number[] = [];
  topLogprobs: number[] = [];
  /** Exact pJump by the position of a jump-site visit's first sampled token (null: the trie was too large, or no probe). */
  exact = new Map<number, number | null>();
  /** Where the trace stands, to tell visits apart as run.paths does (a zone change, or a transition event, ends a segment). */
  lastPc = -1;
  lastLeft = false;
  sampledInSegment = false;
}

/** A jump-site visit's first sampled token, waiting for its probe (exact decisions). */
interface VisitStart {
  stream: StreamLogprobs;
  /** Its index in the stream's trace. */
  position: number;
  slot: number;
  /** Its logits row's offset in the step's logits. */
  offset: number;
  trie: PatternTrie | null;
}

/** Events after which the trace's path starts a new segment (forge/run/derive.ts: advance, jump, forced_exit). */
const SEGMENT_ENDS = TtfaEvent.ADVANCE | TtfaEvent.JUMP | TtfaEvent.FORCED_EXIT;

export class LogprobObserver implements StepObserver {
  readonly needsTriggerStates: boolean;
  /** pJump by probe forwards at each jump-site visit's first sampled step (request `logprobs.decisions: "exact"`). */
  readonly exactDecisions: boolean;
  /** By the stream's index in the request (StepObservation.stream): unique, where instances may repeat (replay). */
  private readonly streams = new Map<number, StreamLogprobs>();
  /** What `attach` laid along each trace, for `advanced`. */
  private readonly byTrace = new WeakMap<StreamTrace, StreamLogprobs>();
  private readonly control: PatternProgress | null;
  private scratch: LogprobScratch | null = null;
  private masked = new Float32Array(0);
  private readonly topIds: Int32Array;
  private readonly topValues: Float32Array;
  /** Exact decisions: the control pattern's trie by trigger state (null: over MAX_PATTERN_TRIE_NODES). */
  private readonly tries = new Map<number, PatternTrie | null>();

  constructor(
    private readonly program: TtfaProgram,
    private readonly sampling: ResolvedSampling,
    private readonly request: LogprobRequest,
  ) {
    // The hazard needs the control pattern and at least one jump site.
    const hasJumpSite = program.jump.some((j) => j >= 0);
    this.control = program.control >= 0 && hasJumpSite ? patternProgress(program.trigger, program.control) : null;
    this.needsTriggerStates = this.control !== null;
    this.exactDecisions = request.decisions === "exact" && this.control !== null;
    this.topIds = new Int32Array(Math.max(1, request.top));
    this.topValues = new Float32Array(Math.max(1, request.top));
  }

  onStep(step: StepObservation): void {
    if (step.logits === null) return;
    const [rows, width] = step.logits.shape;
    const logits = step.logits.dataSync() as Float32Array;
    if (this.scratch === null || this.scratch.vocab !== width) this.scratch = new LogprobScratch(width);
    const top = this.request.top;
    const visits: VisitStart[] = [];
    for (let r = 0; r < rows; r++) {
      const slot = step.rows[r]!;
      const first = step.records[slot]?.[0];
      if (first === undefined) continue;
      const offset = r * width;
      const index = step.stream[slot]!;
      let stream = this.streams.get(index);
      if (stream === undefined) this.streams.set(index, (stream = new StreamLogprobs()));
      const visitStart = this.exactDecisions ? this.followSegments(stream, step.records[slot]!) : false;
      if (!first.record || first.forced) continue;
      if (visitStart && step.triggerStates !== null) visits.push({ stream, position: step.positions[slot]!, slot, offset, trie: this.trieFor(step.triggerStates[slot]!, width) });
      const lp = tokenLogprob(logits, offset, width, first.token, this.sampling, this.scratch, top, this.topIds, this.topValues, 0);
      let sampling = lp.sampling;
      const constraint = step.constraintStates?.[slot] ?? 0;
      if (constraint !== 0) {
        // The row was drawn masked: its sampling distribution is the masked one.
        if (this.masked.length < width) this.masked = new Float32Array(width);
        const row = this.masked.subarray(0, width);
        row.set(logits.subarray(offset, offset + width));
        maskLogitsInPlace(row, width, [constraint], this.program.constraints);
        sampling = tokenLogprob(row, 0, width, first.token, this.sampling, this.scratch).sampling;
      }
      stream.positions.push(step.positions[slot]!);
      stream.model.push(lp.model);
      stream.sampling.push(sampling);
      let hazard = Number.NaN;
      if (this.control !== null && step.triggerStates !== null && first.pc < this.program.zoneCount && this.program.jump[first.pc]! >= 0) {
        hazard = jumpHazard(logits, offset, this.program.trigger, this.control, step.triggerStates[slot]!, lp.lse);
        if (advancesPattern(this.program.trigger, this.control, step.triggerStates[slot]!, first.token)) stream.advanced.add(step.positions[slot]!);
      }
      stream.hazard.push(hazard);
      for (let k = 0; k < top; k++) {
        stream.topIds.push(this.topIds[k]!);
        stream.topLogprobs.push(this.topValues[k]!);
      }
    }
    if (visits.length > 0) this.exactPJumps(step, logits, width, visits);
  }

  /**
   * Moves the stream's segment tracking over this step's records; true when the first (the
   * sampled one) is the first sampled token of a jump-site visit.
   */
  private followSegments(stream: StreamLogprobs, records: readonly StepRecord[]): boolean {
    let start = false;
    records.forEach((record, k) => {
      if (!record.record) return;
      if (record.pc !== stream.lastPc || stream.lastLeft) stream.sampledInSegment = false;
      if (k === 0 && !record.forced && !stream.sampledInSegment && record.pc < this.program.zoneCount && this.program.jump[record.pc]! >= 0) start = true;
      if (!record.forced) stream.sampledInSegment = true;
      stream.lastPc = record.pc;
      stream.lastLeft = (record.event & SEGMENT_ENDS) !== 0;
    });
    return start;
  }

  /** The control pattern's trie from trigger state `state` (built once per state; null over its bound). */
  private trieFor(state: number, width: number): PatternTrie | null {
    let trie = this.tries.get(state);
    if (trie === undefined) this.tries.set(state, (trie = buildPatternTrie(this.program.trigger, this.control!, state, width)));
    return trie;
  }

  /**
   * Exact pJump of this step's visit starts: each from its logits row and the probe forward of
   * its trie's nodes — one probe call per distinct trie, for all its visits. Null (the estimate
   * stands) where the trie is too large or no probe is available.
   */
  private exactPJumps(step: StepObservation, logits: Float32Array, width: number, visits: VisitStart[]): void {
    const byTrie = new Map<PatternTrie | null, VisitStart[]>();
    for (const v of visits) {
      const group = byTrie.get(v.trie);
      if (group) group.push(v);
      else byTrie.set(v.trie, [v]);
    }
    for (const [trie, group] of byTrie) {
      const probes =
        trie === null || trie.size === 0 || !step.probe ? null : step.probe(Int32Array.from(group, (v) => v.slot), trie.tokens, trie.parents);
      group.forEach((v, k) => {
        let p: number | null = null;
        if (trie !== null && trie.size === 0) p = trieProbability(trie, logits, v.offset, null, width);
        else if (trie !== null && probes?.[k]) p = trieProbability(trie, logits, v.offset, probes[k], width);
        v.stream.exact.set(v.position, p);
      });
    }
  }

  /** Exact pJump of the visit whose first sampled token is `trace`'s index `step`: a number, null (fell back), or undefined (not computed); after `attach`. */
  exactPJumpAt(trace: StreamTrace, step: number): number | null | undefined {
    return this.byTrace.get(trace)?.exact.get(step);
  }

  /** Whether the token `trace` sampled at index `step` advanced or fired the control pattern (decisions.ts); after `attach`. */
  advanced(trace: StreamTrace, step: number): boolean {
    return this.byTrace.get(trace)?.advanced.has(step) ?? false;
  }

  /** Sets each trace's logprob arrays (aligned with its tokens; NaN where forced). `traces` in request order, as the streams' indices count. */
  attach(traces: StreamTrace[]): void {
    const top = this.request.top;
    for (const [index, trace] of traces.entries()) {
      if (!trace) continue;
      const n = trace.tokens.length;
      const model = new Float32Array(n).fill(Number.NaN);
      const sampling = new Float32Array(n).fill(Number.NaN);
      const hazard = new Float32Array(n).fill(Number.NaN);
      const ids = top > 0 ? new Int32Array(n * top).fill(-1) : null;
      const values = top > 0 ? new Float32Array(n * top).fill(Number.NaN) : null;
      const stream = this.streams.get(index);
      if (stream) {
        this.byTrace.set(trace, stream);
        stream.positions.forEach((at, j) => {
          if (at >= n) return; // a step past the trace's end (the stream was cut by an interrupt)
          model[at] = stream.model[j]!;
          sampling[at] = stream.sampling[j]!;
          hazard[at] = stream.hazard[j]!;
          for (let k = 0; k < top; k++) {
            ids![at * top + k] = stream.topIds[j * top + k]!;
            values![at * top + k] = stream.topLogprobs[j * top + k]!;
          }
        });
      }
      trace.logprobs = { model, sampling, hazard, ...(top > 0 ? { top: { k: top, ids: ids!, logprobs: values! } } : {}) };
    }
  }
}
