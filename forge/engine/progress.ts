/**
 * What a running request reports about itself, at most every 250 ms and once at the end: for
 * the request's `onProgress`, the notebook's progress display and the server's event stream.
 * The engine produces it (it alone knows steps, zones and which tokens were forced); the
 * layers above only pass it on, so the type lives here, at the bottom.
 */
export interface Progress {
  /** Streams (workflow instances) finished so far, and in all. */
  streamsDone: number;
  streams: number;
  /** Decode steps taken, tokens emitted (all streams, generated + forced), tokens per second since start. */
  step: number;
  tokens: number;
  tokensPerSecond: number;
  /** Tokens the model sampled, and tokens the automaton fed (prompts, forced text): told apart because only the first cost a decode step each. */
  generatedTokens: number;
  forcedTokens: number;
  /** Sampled tokens per second since start. */
  generatedTokensPerSecond: number;
  /**
   * Estimated share of the work done, 0…1: decode steps taken against the steps the workflow's
   * zones and max_gen bounds lead to expect, corrected as streams finish (ProgressEstimator);
   * null when unknown. 1 on the last report.
   */
  fraction: number | null;
  elapsedMs: number;
  /** Estimated time left (null when unknown). */
  etaMs: number | null;
  /** True on the last report of a request. */
  finished: boolean;
}

export type ProgressListener = (progress: Progress) => void;

const PROGRESS_INTERVAL_MS = 250;

/**
 * What a run is expected to take, known before it starts: `streams` instances on `slots`
 * slots, each stream about `streamTokens` tokens (the workflow's zones run to their max_gen
 * bounds, capped by maxTokens) taking about `streamSteps` decode steps (a shared prefix costs
 * none, a forced run fed k tokens per forward ⌈L/k⌉).
 */
export interface ProgressPlan {
  streams: number;
  slots: number;
  streamTokens: number;
  streamSteps: number;
}

/** What the loop did so far, as the estimator reads it. */
export interface ProgressSample {
  /** Decode steps since the run's first (shared-prefix steps excluded: they cost no decode step). */
  steps: number;
  elapsedMs: number;
  streamsDone: number;
  /** Tokens of the finished streams, all together. */
  finishedTokens: number;
}

/**
 * The share of the work done and the time left, from decode steps. Expected steps: the
 * request's waves (⌈streams / slots⌉; continuous batching runs about as many stream-lengths)
 * times a stream's expected steps. Zones that end before their max_gen bound make streams
 * shorter than planned: once streams finish, the plan is scaled by their mean length over the
 * planned one. Time left: the steps left at the observed time per step.
 */
export class ProgressEstimator {
  constructor(private readonly plan: ProgressPlan) {}

  /** Decode steps the whole run is expected to take, given what finished so far. */
  expectedSteps(sample: ProgressSample): number {
    const { streams, slots, streamTokens, streamSteps } = this.plan;
    const waves = Math.ceil(streams / Math.max(1, Math.min(slots, streams)));
    let scale = 1;
    if (sample.streamsDone > 0 && streamTokens > 0) scale = Math.min(1, sample.finishedTokens / sample.streamsDone / streamTokens);
    const expected = waves * streamSteps * scale;
    // Never at or below what is already done while the run goes on.
    return Math.max(expected, sample.steps + 1);
  }

  /** 0…1, or null when the plan says nothing (no step expected). */
  fraction(sample: ProgressSample): number | null {
    if (this.plan.streamSteps <= 0) return null;
    return Math.min(1, sample.steps / this.expectedSteps(sample));
  }

  /** Milliseconds left, or null before the first step. */
  etaMs(sample: ProgressSample): number | null {
    if (sample.steps <= 0 || this.plan.streamSteps <= 0) return null;
    const msPerStep = sample.elapsedMs / sample.steps;
    return (this.expectedSteps(sample) - sample.steps) * msPerStep;
  }
}

/**
 * The engine's progress clock: counts what the loop did (decode steps, generated and forced
 * tokens, finished streams) and reports to the listener at most every 250 ms.
 */
export class ProgressClock {
  generatedTokens = 0;
  forcedTokens = 0;
  private done = 0;
  private finishedTokens = 0;
  private stepCount = 0;
  private readonly started = performance.now();
  private lastReport = 0;
  private readonly estimator: ProgressEstimator | null;

  constructor(
    private readonly streams: number,
    private readonly listener: ProgressListener | undefined,
    plan: ProgressPlan | null = null,
  ) {
    this.estimator = plan === null ? null : new ProgressEstimator(plan);
  }

  /** A recorded token of a stream: forced (prompt, forced text) or generated (sampled). */
  token(forced: boolean): void {
    if (forced) this.forcedTokens++;
    else this.generatedTokens++;
  }

  /** `count` forced tokens at once (a shared prefix). */
  forced(count: number): void {
    this.forcedTokens += count;
  }

  /** A stream ended after `tokens` recorded tokens. */
  streamDone(tokens: number): void {
    this.done++;
    this.finishedTokens += tokens;
  }

  step(): void {
    this.stepCount++;
    const now = performance.now();
    if (this.listener && now - this.lastReport >= PROGRESS_INTERVAL_MS) {
      this.lastReport = now;
      this.listener(this.snapshot(false));
    }
  }

  /** The last report; an interrupted run keeps its estimated fraction. */
  finish(interrupted = false): void {
    this.listener?.(this.snapshot(true, interrupted));
  }

  private snapshot(finished: boolean, interrupted = false): Progress {
    const elapsedMs = performance.now() - this.started;
    const tokens = this.generatedTokens + this.forcedTokens;
    const perSecond = (n: number) => (elapsedMs > 0 ? (n * 1000) / elapsedMs : 0);
    const sample: ProgressSample = { steps: this.stepCount, elapsedMs, streamsDone: this.done, finishedTokens: this.finishedTokens };
    const byStreams = this.done > 0 ? (elapsedMs / this.done) * (this.streams - this.done) : null;
    return {
      streamsDone: this.done,
      streams: this.streams,
      step: this.stepCount,
      tokens,
      tokensPerSecond: perSecond(tokens),
      generatedTokens: this.generatedTokens,
      forcedTokens: this.forcedTokens,
      generatedTokensPerSecond: perSecond(this.generatedTokens),
      fraction: finished && !interrupted ? 1 : (this.estimator?.fraction(sample) ?? null),
      elapsedMs,
      etaMs: finished ? 0 : this.estimator !== null ? this.estimator.etaMs(sample) : byStreams,
      finished,
    };
  }
}
