/**
 * The generation loop (docs/engine.md#the-generation-loop): per step, for all streams at once,
 * model forward on each stream's last token → logits → seeded sampler → automaton step →
 * the host's record (trace, tool calls, ends of streams), the emitted tokens fed back next
 * step. Control never leaves the tensors: the host only reads each step's small outputs
 * (token, pc, flags) for the trace, progress and tool calls.
 *
 * The batching policies live in ./batch/ and are tested there without a model; each keeps
 * greedy traces as the one-token-per-step run gives them (issue 10):
 * - shared-prefix prefill (batch/prefix.ts, ../model/prefill.ts, ../model/attention.ts), on
 *   by default: the forced text every stream starts with is computed once at batch 1 and held
 *   once as the cache's shared prefix, attended with one matrix product per head;
 * - continuous batching (batch/refill.ts), on by default: a finished slot takes the next
 *   instance at once; dead cache columns are compacted away (batch/compaction.ts);
 * - shrinking the batch (batch/compaction.ts), on by default with the host automaton: once no
 *   instance is queued, the cache keeps only the rows of live streams (batch/slots.ts maps
 *   slots to rows);
 * - multi-token forced feeding (batch/feed.ts, ../model/chunk.ts), off by default: forced
 *   prompt tokens known in advance go into one forward, several per stream.
 * Per-step instruments (log-probabilities, decision probabilities, constraint masks) are step
 * observers (batch/step-record.ts), passed to generateRun.
 */
import * as tf from "@tensorflow/tfjs";
import type { SzcpWorkflow } from "../szcp/types.js";
import type { ForgeTokenizer } from "../tokenizer/types.js";
import type { ChoiceRecord, Run, RunMetadata, StreamTrace } from "../run/types.js";
import type { DecoderModel } from "../model/index.js";
import { ProgressClock, type ProgressPlan } from "./progress.js";
import { compileForBackend, TraceRecorder, TtfaEvent, type TtfaProgram } from "../ttfa/index.js";
import { defaultAutomatonKind, makeBatchAutomaton, type AutomatonKind, type BatchAutomaton } from "./automaton.js";
import { resolveSampling, sampleOnBackend, type SamplingOptions } from "../sampler/index.js";
import { deriveRun } from "../run/index.js";
import { workflowHash } from "../szcp/index.js";
import { RequestError } from "./errors.js";
import type { PrefillMethod } from "../model/prefill.js";
import { tfjsStepModel, type StepCache, type StepModel } from "../model/step-model.js";
import { engineIdentity } from "../model/step-model.js";
import type { RequestOptions, ToolRegistry } from "./types.js";
import { SlotTable } from "./batch/slots.js";
import { planSharedPrefix, type PrefixPlan } from "./batch/prefix.js";
import { cacheCapacity, rowsToKeep, shouldCompact } from "./batch/compaction.js";
import { chunkInput, feedForcedRun, feedWidth, type SlotState } from "./batch/feed.js";
import { InstanceQueue, refillFinishedSlots, type RefillHooks } from "./batch/refill.js";
import { DEFAULT_TOOL_TIMEOUT_MS, ToolCalls } from "./batch/tools.js";
import { expectedStream } from "./batch/expected.js";
import { LogprobObserver, resolveLogprobs } from "../instruments/recorder.js";
import { deriveDecisions } from "../instruments/decisions.js";
import { slotRecord, type StepObservation, type StepObserver, type StepRecord } from "./batch/step-record.js";
import { sampleConstrained } from "./batch/constrained.js";
import { ChoiceScorer } from "../ttfa/choices.js";

export type { StepObservation, StepObserver } from "./batch/step-record.js";

export interface EngineParts {
  model: DecoderModel;
  tokenizer: ForgeTokenizer;
  tools: ToolRegistry;
  /** tfjs backend name, recorded in the run's metadata. */
  backend: string;
  /** What computes the model in the loop (model/step-model.ts); default: `model` itself, on tfjs. */
  engine?: StepModel;
}

/** Checks a workflow against this backend before anything runs. */
export function prepareProgram(parts: EngineParts, workflow: SzcpWorkflow): TtfaProgram {
  const program = compileForBackend(workflow, parts.tokenizer);
  const missing = program.toolNames.filter((name) => !(name in parts.tools));
  if (missing.length > 0) {
    throw new RequestError(
      `the workflow uses tool(s) ${missing.map((m) => `"${m}"`).join(", ")} that this backend does not have ` +
        `(registered: ${Object.keys(parts.tools).join(", ") || "none"}); pass them as makeBackend(..., { tools })`,
    );
  }
  if (program.feedEnd[0]! <= program.feedStart[0]!) {
    throw new RequestError("the workflow's first zone has no forced text: a workflow must begin with a prompt");
  }
  return program;
}

/**
 * Runs `workflow` for the request's instances. `observers` see every loop step with a forward
 * (its logits rows and the slots' step records): per-step instruments hook in there.
 */
export async function generateRun(
  parts: EngineParts,
  workflow: SzcpWorkflow,
  options: RequestOptions = {},
  observers: readonly StepObserver[] = [],
): Promise<Run> {
  const program = prepareProgram(parts, workflow);
  const batchSize = positiveInt(options.batchSize ?? 32, "batchSize");
  // A counterfactual replay names its streams' instances (and what to force where) instead of a range.
  const replay = options.replay ? replayOverrides(options.replay, parts.tokenizer) : null;
  const instances = replay ? replay.length : positiveInt(options.instances ?? batchSize, "instances");
  const seed = options.seed ?? 0;
  const contextLength = parts.model.config.maxPositions;
  const maxTokens = Math.min(positiveInt(options.maxTokens ?? contextLength, "maxTokens"), contextLength);
  const sampling: SamplingOptions = { greedy: options.greedy, temperature: options.temperature, topK: options.topK, topP: options.topP };
  const resolved = resolveSampling(sampling, parts.model.config.vocabSize); // fails early on a bad option
  const prefill = flag(options.prefill, true, "prefill");
  const continuousBatching = flag(options.continuousBatching, true, "continuousBatching");
  const feedChunk = positiveInt(options.feedChunk ?? 1, "feedChunk");
  const shrinkBatch = flag(options.shrinkBatch, true, "shrinkBatch");
  const automatonKind = options.automaton ?? defaultAutomatonKind(parts.backend);
  if (feedChunk > 1 && automatonKind !== "host")
    throw new RequestError(`feedChunk ${feedChunk} needs the host automaton (automaton: "host"); the ${automatonKind} automaton steps every slot at once`);
  // Research instruments asked for by the request ride along as step observers.
  const logprobs = resolveLogprobs(options.logprobs);
  const logprobObserver = logprobs ? new LogprobObserver(program, resolved, logprobs) : null;
  if (logprobObserver) observers = [...observers, logprobObserver];
  const startedAt = new Date();
  const plan = options.onProgress ? progressPlan(program, instances, batchSize, maxTokens, prefill, feedChunk) : null;
  const clock = new ProgressClock(instances, options.onProgress, plan);

  const firstInstance = options.firstInstance ?? 0;
  if (!Number.isInteger(firstInstance) || firstInstance < 0) throw new RequestError(`firstInstance must be an integer ≥ 0, got ${firstInstance}`);
  // Continuous batching: one run of batchSize slots over all instances. Otherwise waves of
  // batchSize instances, each waiting for its slowest stream.
  const groupSize = continuousBatching ? instances : batchSize;
  const traces: StreamTrace[] = new Array(instances);
  let interrupted = false;
  let steps = 0;
  let forwardTokens = 0;
  let sharedPrefixTokens = 0;
  const choices: ChoiceRecord[] = [];
  for (let first = 0; first < instances; first += groupSize) {
    const group = Array.from({ length: Math.min(groupSize, instances - first) }, (_, i) => first + i);
    const ids = group.map((k) => (replay ? replay[k]!.instance : firstInstance + k));
    const overrides = replay ? group.map((k) => replay[k]!.override) : null;
    if (options.signal?.aborted) interrupted = true;
    const result: SlotsResult = interrupted
      ? { traces: ids.map((i) => emptyTrace(i)), steps: 0, interrupted: true, forwardTokens: 0, sharedPrefixTokens: 0 }
      : await runSlots(parts, program, ids, Math.min(batchSize, ids.length), { ...options, seed, maxTokens, sampling, prefill, feedChunk, shrinkBatch, overrides, firstStream: first }, clock, observers);
    result.traces.forEach((trace, k) => (traces[group[k]!] = trace));
    if (result.choices) choices.push(...result.choices);
    steps += result.steps;
    forwardTokens += result.forwardTokens;
    sharedPrefixTokens = Math.max(sharedPrefixTokens, result.sharedPrefixTokens);
    interrupted ||= result.interrupted;
  }
  clock.finish(interrupted);

  const meta: RunMetadata = {
    runId: crypto.randomUUID(),
    seed,
    workflowHash: workflowHash(workflow),
    backend: parts.backend,
    ...engineIdentity(parts.engine, parts.backend),
    model: parts.model.name,
    tokenizer: parts.tokenizer.identity,
    batchSize,
    instances,
    startedAt: startedAt.toISOString(),
    wallMs: Date.now() - startedAt.getTime(),
    steps,
    forwardTokens,
    sharedPrefixTokens,
    interrupted,
    sampling: { ...resolved },
  };
  logprobObserver?.attach(traces);
  const run = deriveRun({ meta, workflow, streams: traces }, parts.tokenizer);
  if (logprobObserver)
    run.decisions = deriveDecisions(
      run,
      (stream, step) => logprobObserver.advanced(stream, step),
      logprobObserver.exactDecisions ? (stream, step) => logprobObserver.exactPJumpAt(stream, step) : undefined,
    );
  if (ChoiceScorer.wanted(program)) run.choices = choices.sort((a, b) => a.instance - b.instance || a.step - b.step);
  return run;
}

interface SlotsOptions extends RequestOptions {
  seed: number;
  maxTokens: number;
  sampling: SamplingOptions;
  prefill: boolean;
  feedChunk: number;
  shrinkBatch: boolean;
  /** Per instance of the group (replay): tokens emitted in place of the sampled ones from a trace step on. */
  overrides: Array<TokenOverride | null> | null;
  /** Index in the request of the group's first stream (waves run one group each). */
  firstStream: number;
}

/** Tokens a replayed stream emits from trace index `step` on, as if sampled. */
interface TokenOverride {
  step: number;
  tokens: Int32Array;
}

/** The replay entries' instances and overrides (the force text tokenized once). */
function replayOverrides(entries: NonNullable<RequestOptions["replay"]>, tokenizer: EngineParts["tokenizer"]): Array<{ instance: number; override: TokenOverride | null }> {
  return entries.map((entry, i) => {
    if (entry.force === undefined || entry.force === "") return { instance: entry.instance, override: null };
    if (entry.step === undefined) throw new RequestError(`replay[${i}]: force needs the step it begins at`);
    return { instance: entry.instance, override: { step: entry.step, tokens: Int32Array.from(tokenizer.encode(entry.force)) } };
  });
}

interface SlotsResult {
  /** In the order of the instances asked for. */
  traces: StreamTrace[];
  steps: number;
  interrupted: boolean;
  forwardTokens: number;
  sharedPrefixTokens: number;
  /** Choice scores of the group's streams (programs with `choices` zones). */
  choices?: ChoiceRecord[];
}

/**
 * How the shared prefix's K/V are computed (model/prefill.ts): one causal forward, ≈ 3× faster
 * than batch-1 decode steps on the benchmark model (0.37 s against 1.04 s for 327 tokens). Its
 * K/V round differently from the stepwise run's; so does attention over the prefix as one
 * product per head, so greedy traces match the stepwise run and sampled ones may not.
 */
const PREFILL_METHOD: PrefillMethod = "forward";

/**
 * The event loop gets a turn at least this often (abort signals raised by events, timers,
 * tool results), and at every step while a tool call is pending. A turn per step cost ≈ 4 %
 * of a batch-256 step (bench/ttfa/README.md): V8 does deferred collection work on each turn.
 */
export const YIELD_INTERVAL_MS = 50;

/**
 * `slots` streams decoded together over the `instances` queue: each slot runs one workflow
 * instance from start to end, then (when the queue has more) takes the next one.
 */
function runSlots(
  parts: EngineParts,
  program: TtfaProgram,
  instances: number[],
  slots: number,
  options: SlotsOptions,
  clock: ProgressClock,
  observers: readonly StepObserver[],
): Promise<SlotsResult> {
  return new SlotRun(parts, program, instances, slots, options, clock, observers).run();
}

/** The forward of one loop step: logits [rows, vocab] and the tokens each row fed. */
interface Forward {
  logits: tf.Tensor2D;
  fed: ArrayLike<number>;
}

/** One run of runSlots: the loop (run) and the host's side of each step (absorb). */
class SlotRun {
  private readonly engine: StepModel;
  private readonly automatonKind: AutomatonKind;
  private readonly automaton: BatchAutomaton;
  private readonly table: SlotTable;
  private readonly queue: InstanceQueue;
  private readonly recorder: TraceRecorder;
  private readonly tools: ToolCalls;
  private readonly prefix: PrefixPlan | null;
  /** More instances than slots: finished slots take the next one. */
  private readonly refills: boolean;
  /** Dead columns (finished streams', chunk columns a stream did not fill) are compacted away. */
  private readonly compacting: boolean;
  /** Rows of finished streams leave the model's batch once nothing is queued (host automaton only: see compaction.ts). */
  private readonly shrinking: boolean;
  private cache: StepCache;
  private readonly traces: StreamTrace[];
  private steps = 0;
  private forwardTokens = 0;
  private interrupted = false;
  /** Choice scores, when the program has `choices` zones (docs/automaton.md#choice-scores). */
  readonly choices: ChoiceScorer | null;

  constructor(
    private readonly parts: EngineParts,
    private readonly program: TtfaProgram,
    private readonly instances: number[],
    private readonly b: number,
    private readonly options: SlotsOptions,
    private readonly clock: ProgressClock,
    private readonly observers: readonly StepObserver[],
  ) {
    this.engine = parts.engine ?? tfjsStepModel(parts.model, PREFILL_METHOD);
    this.refills = instances.length > b;
    this.automatonKind = options.automaton ?? defaultAutomatonKind(parts.backend);
    this.automaton = makeBatchAutomaton(program, b, this.automatonKind);
    this.compacting = this.refills || options.feedChunk > 1;
    this.shrinking = options.shrinkBatch && this.automatonKind === "host";
    this.prefix = planSharedPrefix(program, options.prefill, options.maxTokens);
    this.cache = this.engine.createCache(b, cacheCapacity(options.maxTokens, options.feedChunk, this.compacting));
    this.table = new SlotTable(b, program.padId);
    this.queue = new InstanceQueue(instances);
    this.recorder = new TraceRecorder(program.zoneCount, b);
    this.tools = new ToolCalls(parts.tools, this.table, options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS, {
      answer: (slot, output) => this.automaton.setToolOutput(slot, parts.tokenizer.encode(output)),
      fail: (slot, message) => this.failStream(slot, message),
    });
    this.traces = new Array(instances.length);
    this.choices = ChoiceScorer.wanted(program) ? new ChoiceScorer(program, (t) => parts.tokenizer.tokenBytes(t)) : null;
  }

  async run(): Promise<SlotsResult> {
    const { table, queue, automaton, options, program } = this;
    let lastTokens: tf.Tensor1D | null = null;
    let lastYield = performance.now();
    try {
      for (let s = 0; s < this.b; s++) this.assign(s);
      if (this.prefix !== null) await this.stepThroughPrefix(this.prefix);
      lastTokens = tf.tensor1d(table.lastToken, "int32");

      for (;;) {
        if (options.signal?.aborted) {
          this.interrupted = true;
          break;
        }
        if (this.refills && refillFinishedSlots(table, queue, this.refillHooks)) {
          lastTokens.dispose();
          lastTokens = tf.tensor1d(table.lastToken, "int32");
        }
        if (table.allFinished()) break;
        if (this.shrinking && queue.empty) this.shrink();
        const width = feedWidth(table);
        if (this.compacting && shouldCompact(this.cache, width, table.widestLiveColumns())) this.engine.compact(this.cache);

        // Model step, then the sampler (the first step has no token to feed: padding).
        const forward = this.steps === 0 ? null : this.forward(width, lastTokens);
        // Constrained zones: each slot's state before the step picks its row's mask.
        const states = forward !== null && program.constraints.stateCount > 1 ? automaton.constraintStates() : null;
        const positions = this.choices || this.observers.length > 0 ? Int32Array.from({ length: this.b }, (_, s) => this.recorder.slot(s).length) : null;
        const triggerStates = forward !== null && this.observers.some((o) => o.needsTriggerStates) ? automaton.triggerStates() : null;
        let sampled = forward === null ? (tf.fill([this.b], program.padId, "int32") as tf.Tensor1D) : this.sample(forward, states);
        if (forward !== null && options.overrides !== null) sampled = this.override(sampled);
        const observation = forward !== null && (this.observers.length > 0 || this.choices) ? this.observe(forward, states, positions, triggerStates) : null;
        if (observation === null) forward?.logits.dispose();

        // The automaton: every slot's next token, fed back next step.
        const { next, host } = await automaton.step(sampled);
        sampled.dispose();
        lastTokens.dispose();
        lastTokens = next;
        table.lastToken.set(host.token);
        this.recorder.append(host);
        this.steps++;

        // The host's record: traces, tool calls, ends of streams, forced runs to feed.
        let live = 0;
        let heldAll = true;
        for (let s = 0; s < this.b; s++) {
          if (table.finished[s]) continue;
          const absorb = (record: StepRecord): SlotState => {
            observation?.records[s]!.push(record);
            return this.absorb(s, record);
          };
          let state = absorb(slotRecord(host, s));
          table.active[s] = state === "fed" ? 1 : 0;
          state = feedForcedRun(state, options.feedChunk, table.extra[s]!, () => this.nextForced(s), (record) => {
            this.recorder.slot(s).push(record.token, record.pc, record.forced, record.event, record.nextPc, record.done, record.record);
            return absorb(record);
          });
          if (state === "ended") {
            table.active[s] = 0;
            table.extra[s] = [];
            continue;
          }
          live++;
          if (state !== "held") heldAll = false;
        }
        if (observation !== null) {
          try {
            this.choices?.onStep({ ...observation, constraintStates: states!, positions: positions! });
            for (const observer of this.observers) observer.onStep(observation);
          } finally {
            observation.logits?.dispose();
          }
        }
        this.clock.step();
        if (live === 0 && queue.empty) break;
        // Let the event loop breathe (interrupts, tool results); when every live stream waits
        // on a tool, sleep until one answers instead of spinning.
        if (live > 0 && heldAll && this.tools.inFlight > 0) await this.tools.any();
        else if (this.tools.inFlight > 0 || performance.now() - lastYield >= YIELD_INTERVAL_MS) await new Promise<void>((resolve) => setImmediate(resolve));
        else continue; // no turn this step
        lastYield = performance.now();
      }
    } finally {
      lastTokens?.dispose();
      automaton.dispose();
      this.cache.dispose();
    }
    return this.result();
  }

  /** The traces in instance order: finished and running streams', and empty ones for instances never started. */
  private result(): SlotsResult {
    const { table, traces } = this;
    for (let s = 0; s < this.b; s++) {
      if (table.job[s]! < 0) continue;
      const override =
        table.overrides[s] ?? (this.interrupted && !table.finished[s] ? { status: "interrupted" as const, message: "the request was interrupted" } : undefined);
      traces[table.job[s]!] = this.recorder.take(s, table.instance[s]!, override);
    }
    for (const job of this.queue.left()) traces[job] = emptyTrace(this.instances[job]!);
    return { traces, steps: this.steps, interrupted: this.interrupted, forwardTokens: this.forwardTokens, sharedPrefixTokens: this.prefix?.steps ?? 0, choices: this.choices?.records };
  }

  /** Slot `s` takes the next queued instance. */
  private assign(s: number): void {
    const job = this.queue.take();
    this.table.assign(s, job, this.instances[job]!);
  }

  /**
   * The shared prefix: its first P − 1 tokens' K/V computed once (the cache's pinned prefix),
   * then every slot's automaton through its P steps at once.
   */
  private async stepThroughPrefix(prefix: PrefixPlan): Promise<void> {
    const { table, program } = this;
    this.engine.attachPrefix(this.cache, prefix.tokens.subarray(0, prefix.pinned));
    this.forwardTokens += prefix.pinned;
    const pad = tf.fill([this.b], program.padId, "int32") as tf.Tensor1D;
    try {
      for (let i = 0; i < prefix.steps; i++) {
        const { next, host } = await this.automaton.step(pad);
        next.dispose();
        for (let s = 0; s < this.b; s++)
          if (host.token[s] !== prefix.tokens[i] || !host.record[s] || host.done[s])
            throw new Error(`internal: slot ${s} left the shared prefix at step ${i}`);
        this.recorder.append(host);
      }
    } finally {
      pad.dispose();
    }
    table.positions.fill(prefix.pinned);
    table.streamSteps.fill(prefix.steps);
    table.active.fill(1);
    table.lastToken.fill(prefix.lastToken);
    this.steps = prefix.steps;
    this.clock.forced(this.b * prefix.steps);
  }

  /** Continuous batching (refill.ts): a finished slot hands its trace over; the new stream starts past the shared prefix. */
  private readonly refillHooks: RefillHooks = {
    retire: (s) => {
      const { table } = this;
      this.traces[table.job[s]!] = this.recorder.take(s, table.instance[s]!, table.overrides[s]);
    },
    start: (s) => {
      const { table, prefix, automaton } = this;
      automaton.resetSlot(s);
      this.cache.resetSlot(table.rowOf(s)); // rows are only dropped once the queue is empty: the slot still has one
      if (prefix === null || !automaton.replay) return false;
      // The automaton replays the prefix (host, cheap); the cache's shared prefix — which every
      // row attends to — stands for its K/V.
      const builder = this.recorder.slot(s);
      for (const r of automaton.replay(s, prefix.steps)) builder.push(r.token, r.pc, r.forced, r.event, r.nextPc, r.done, r.record);
      table.positions[s] = prefix.pinned;
      table.streamSteps[s] = prefix.steps;
      table.active[s] = 1;
      table.lastToken[s] = prefix.lastToken;
      this.clock.forced(prefix.steps);
      return true;
    },
  };

  /** Shrinking the batch (compaction.ts): keep only the live rows once that pays. */
  private shrink(): void {
    const keep = rowsToKeep(this.table);
    if (keep !== null) this.cache = this.engine.keepRows(this.cache, this.table.keepRows(keep));
  }

  /** The model's forward over each row's last token, and its extra forced tokens when `width` > 1. */
  private forward(width: number, lastTokens: tf.Tensor1D): Forward {
    const { table, engine, cache } = this;
    this.forwardTokens += table.rowCount * width;
    if (width > 1) {
      const { tokens, fed } = chunkInput(table, width);
      return { logits: engine.decodeChunk(cache, tokens, fed, table.byRow(table.positions), width), fed };
    }
    if (table.fullRows) return { logits: engine.decode(cache, lastTokens, table.positions, table.active), fed: table.active };
    const rowTokens = tf.tensor1d(table.byRow(table.lastToken), "int32");
    const fed = table.byRow(table.active);
    try {
      return { logits: engine.decode(cache, rowTokens, table.byRow(table.positions), fed), fed };
    } finally {
      rowTokens.dispose();
    }
  }

  /** The sampled token of every slot (padding for slots without a row, which finished slots ignore); the streams move past what they fed. */
  private sample({ logits, fed }: Forward, states: Int32Array | null): tf.Tensor1D {
    const { table, options } = this;
    const perRow = states
      ? sampleConstrained(logits, table.byRow(states), this.program, options.sampling, options.seed, table.byRow(table.instance), table.byRow(table.streamSteps))
      : sampleOnBackend(logits, options.sampling, options.seed, table.byRow(table.instance), table.byRow(table.streamSteps));
    table.advance(fed);
    if (table.fullRows) return perRow;
    const values = perRow.dataSync();
    perRow.dispose();
    return tf.tensor1d(table.toSlots(values, this.program.padId), "int32");
  }

  /** Replay: slots whose trace has reached their override emit its tokens instead of the sampled ones. */
  private override(sampled: tf.Tensor1D): tf.Tensor1D {
    const { table } = this;
    let tokens: Int32Array | null = null;
    for (let s = 0; s < this.b; s++) {
      const job = table.job[s]!;
      const o = job >= 0 && !table.finished[s] ? this.options.overrides![job] : null;
      if (!o) continue;
      const at = this.recorder.slot(s).length - o.step;
      if (at < 0 || at >= o.tokens.length) continue;
      tokens ??= Int32Array.from(sampled.dataSync());
      tokens[s] = o.tokens[at]!;
    }
    if (tokens === null) return sampled;
    sampled.dispose();
    return tf.tensor1d(tokens, "int32");
  }

  private observe(forward: Forward, constraintStates: Int32Array | null, positions: Int32Array | null, triggerStates: Int32Array | null): StepObservation {
    return {
      step: this.steps,
      logits: forward.logits,
      rows: this.table.rows,
      fed: Int32Array.from(forward.fed),
      instance: this.table.instance,
      stream: Int32Array.from(this.table.job, (job) => (job < 0 ? -1 : this.options.firstStream + job)),
      records: Array.from({ length: this.b }, () => []),
      positions: positions!,
      constraintStates,
      triggerStates,
      probe: this.engine.probe ? (slots, tokens, parents) => this.probeSlots(slots, tokens, parents) : null,
    };
  }

  /** Probe forwards after the slots' pasts (StepModel.probe), per slot; null for a stream that ended (its row may be reset). */
  private probeSlots(slots: Int32Array, tokens: Int32Array, parents: Int32Array): Array<Float32Array | null> {
    const { table } = this;
    const live = slots.filter((s) => !table.finished[s]);
    const logits = live.length > 0 ? this.engine.probe!(this.cache, live.map((s) => table.rowOf(s)), tokens, parents, live.map((s) => table.positions[s]!)) : null;
    const size = tokens.length * this.parts.model.config.vocabSize;
    const at = new Map(Array.from(live, (s, k) => [s, k]));
    return Array.from(slots, (s) => {
      const k = at.get(s);
      return k === undefined ? null : logits!.subarray(k * size, (k + 1) * size);
    });
  }

  /** Slot `s`'s next step when it is forced (multi-token feeding takes it now), else null. */
  private nextForced(s: number): StepRecord | null {
    return this.automaton.forcedNext!(s) ? this.automaton.replay!(s, 1)[0]! : null;
  }

  /**
   * The host side of one recorded automaton step of slot s: trace bookkeeping, tool calls and
   * the ends of a stream. "fed": its token goes into the next forward; "held": waiting on a tool.
   */
  private absorb(s: number, r: StepRecord): SlotState {
    const { table, program } = this;
    if (r.record) {
      table.streamSteps[s]!++;
      this.clock.token(r.forced !== 0);
      if (!r.forced && r.pc < program.zoneCount && program.capture[r.pc]! >= 0) table.captures[s]!.push(r.token);
    }
    if (r.event & TtfaEvent.CAPTURE) this.startTool(s, r.pc);
    if (r.done) {
      this.finishStream(s);
      return "ended";
    }
    if (table.streamSteps[s]! >= this.options.maxTokens) {
      // Context limit: the stream ends truncated (its trace builder never saw `done`).
      this.automaton.stop(s);
      this.finishStream(s);
      return "ended";
    }
    if (r.event & TtfaEvent.HELD) {
      // A feed zone waits for output no capture will ever deliver.
      if (table.pendingTools[s] === 0) {
        this.failStream(s, `zone ${r.pc} feeds tool output, but no capture zone called a tool before it`);
        return "ended";
      }
      return "held";
    }
    return r.record ? "fed" : "held";
  }

  private startTool(slot: number, zone: number): void {
    const { table, program } = this;
    const text = this.parts.tokenizer.decode(table.captures[slot]!).trim();
    table.captures[slot] = [];
    this.tools.start(slot, program.toolNames[program.capture[zone]!]!, text);
  }

  private finishStream(slot: number): void {
    this.table.finished[slot] = 1;
    this.clock.streamDone(this.table.streamSteps[slot]!);
    // Its columns are dead from now on: masked, and dropped at the next compaction.
    if (this.compacting) {
      this.cache.resetSlot(this.table.rowOf(slot));
      this.table.ownColumns[slot] = 0;
    }
  }

  /** Ends one stream with tool_error; the others go on. */
  private failStream(slot: number, message: string): void {
    if (this.table.finished[slot]) return;
    this.table.overrides[slot] = { status: "tool_error", message };
    this.automaton.stop(slot);
    this.finishStream(slot);
  }
}

/** What the progress estimator expects of this request (progress.ts): one probe stream of the workflow. */
function progressPlan(program: TtfaProgram, streams: number, slots: number, maxTokens: number, prefill: boolean, feedChunk: number): ProgressPlan {
  const prefixSteps = planSharedPrefix(program, prefill, maxTokens)?.steps ?? 0;
  const stream = expectedStream(program, maxTokens, prefixSteps, feedChunk);
  return { streams, slots, streamTokens: stream.tokens, streamSteps: stream.steps };
}

function emptyTrace(instance: number): StreamTrace {
  return {
    instance,
    tokens: new Int32Array(0),
    pcs: new Int32Array(0),
    forced: new Uint8Array(0),
    events: [],
    status: "interrupted",
    message: "the request was interrupted before this instance started",
  };
}

function flag(value: boolean | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new RequestError(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new RequestError(`${name} must be a positive integer, got ${value}`);
  return value;
}
