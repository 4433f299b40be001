/**
 * The logprob instrument as a step observer (forge/engine/batch/step-record.ts): beside every
 * loop step it reads the logits rows once and, for each stream whose token this step was
 * sampled (not forced), records the token's logprobs (logprobs.ts), the top alternatives, and
 * inside jump sites the jump hazard (hazard.ts). At the end `attach` lays them along each
 * stream's trace: index i belongs to StreamTrace.tokens[i]; forced tokens get NaN (and id −1
 * alternatives), so the arrays line up with the token tables.
 */
import type { StepObservation, StepObserver } from "../engine/batch/step-record.js";
import type { StreamTrace } from "../run/types.js";
import type { ResolvedSampling } from "../sampler/options.js";
import { maskLogitsInPlace } from "../ttfa/mask.js";
import type { TtfaProgram } from "../ttfa/types.js";
import { InstrumentError } from "./errors.js";
import { advancesPattern, jumpHazard, patternProgress, type PatternProgress } from "./hazard.js";
import { LogprobScratch, MAX_TOP_LOGPROBS, tokenLogprob } from "./logprobs.js";

/** The request option `logprobs`: true, or `{ top: k }` for the k best alternatives per generated step. */
export type LogprobsOption = boolean | { top?: number };

export interface LogprobRequest {
  top: number;
}

/** Validates the option; null when off. */
export function resolveLogprobs(option: LogprobsOption | undefined): LogprobRequest | null {
  if (option === undefined || option === false) return null;
  if (option === true) return { top: 0 };
  const top = option.top ?? 0;
  if (!Number.isInteger(top) || top < 0 || top > MAX_TOP_LOGPROBS)
    throw new InstrumentError(`logprobs.top must be an integer from 0 to ${MAX_TOP_LOGPROBS}, got ${String(option.top)}`);
  return { top };
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
}

export class LogprobObserver implements StepObserver {
  readonly needsTriggerStates: boolean;
  /** By the stream's index in the request (StepObservation.stream): unique, where instances may repeat (replay). */
  private readonly streams = new Map<number, StreamLogprobs>();
  /** What `attach` laid along each trace, for `advanced`. */
  private readonly byTrace = new WeakMap<StreamTrace, StreamLogprobs>();
  private readonly control: PatternProgress | null;
  private scratch: LogprobScratch | null = null;
  private masked = new Float32Array(0);
  private readonly topIds: Int32Array;
  private readonly topValues: Float32Array;

  constructor(
    private readonly program: TtfaProgram,
    private readonly sampling: ResolvedSampling,
    private readonly request: LogprobRequest,
  ) {
    // The hazard needs the control pattern and at least one jump site.
    const hasJumpSite = program.jump.some((j) => j >= 0);
    this.control = program.control >= 0 && hasJumpSite ? patternProgress(program.trigger, program.control) : null;
    this.needsTriggerStates = this.control !== null;
    this.topIds = new Int32Array(Math.max(1, request.top));
    this.topValues = new Float32Array(Math.max(1, request.top));
  }

  onStep(step: StepObservation): void {
    if (step.logits === null) return;
    const [rows, width] = step.logits.shape;
    const logits = step.logits.dataSync() as Float32Array;
    if (this.scratch === null || this.scratch.vocab !== width) this.scratch = new LogprobScratch(width);
    const top = this.request.top;
    for (let r = 0; r < rows; r++) {
      const slot = step.rows[r]!;
      const first = step.records[slot]?.[0];
      if (first === undefined || !first.record || first.forced) continue;
      const offset = r * width;
      const index = step.stream[slot]!;
      let stream = this.streams.get(index);
      if (stream === undefined) this.streams.set(index, (stream = new StreamLogprobs()));
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
