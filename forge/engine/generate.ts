/**
 * The generation loop (docs/engine.md#the-generation-loop): per step, for all streams at once,
 * model forward on each stream's last token → logits → seeded sampler → automaton step →
 * emitted token, fed back next step. Control never leaves the tensors: the host only reads
 * each step's small outputs (token, pc, flags) for the trace, progress and tool calls.
 *
 * Throughput (issue 10); each keeps greedy traces as the one-token-per-step run gives them:
 * - shared-prefix prefill (prefix.ts, ../model/prefill.ts, ../model/attention.ts), on by
 *   default: the forced text every stream starts with is computed once at batch 1 and held
 *   once as the cache's shared prefix, attended with one matrix product per head;
 * - continuous batching (runSlots), on by default: a finished slot takes the next instance
 *   at once; dead cache columns are compacted away once they make up half the cache;
 * - shrinking the batch (retireFinishedRows), on by default with the host automaton: once no
 *   instance is queued, the cache keeps only the rows of live streams;
 * - multi-token forced feeding (feedChunk, ../model/chunk.ts), off by default: forced prompt
 *   tokens known in advance go into one forward, several per stream.
 */
import * as tf from "@tensorflow/tfjs";
import type { SzcpWorkflow } from "../szcp/types.js";
import type { ForgeTokenizer } from "../tokenizer/types.js";
import type { Run, RunMetadata, StreamStatus, StreamTrace } from "../run/types.js";
import type { DecoderModel } from "../model/index.js";
import type { Progress, ProgressListener } from "./progress.js";
import { compileForBackend, TraceRecorder, TtfaEvent, type TtfaProgram } from "../ttfa/index.js";
import { defaultAutomatonKind, makeBatchAutomaton } from "./automaton.js";
import { resolveSampling, sampleOnBackend, type SamplingOptions } from "../sampler/index.js";
import { deriveRun } from "../run/index.js";
import { workflowHash } from "../szcp/index.js";
import { RequestError } from "./errors.js";
import { sharedPrefix } from "./prefix.js";
import type { PrefillMethod } from "../model/prefill.js";
import { tfjsStepModel, type StepModel } from "../model/step-model.js";
import { engineIdentity } from "../model/step-model.js";
import type { RequestOptions, ToolRegistry } from "./types.js";

export interface EngineParts {
  model: DecoderModel;
  tokenizer: ForgeTokenizer;
  tools: ToolRegistry;
  /** tfjs backend name, recorded in the run's metadata. */
  backend: string;
  /** What computes the model in the loop (model/step-model.ts); default: `model` itself, on tfjs. */
  engine?: StepModel;
}

const PROGRESS_INTERVAL_MS = 250;
const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

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

export async function runWorkflow(parts: EngineParts, workflow: SzcpWorkflow, options: RequestOptions = {}): Promise<Run> {
  const program = prepareProgram(parts, workflow);
  const batchSize = positiveInt(options.batchSize ?? 32, "batchSize");
  const instances = positiveInt(options.instances ?? batchSize, "instances");
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
  const startedAt = new Date();
  const clock = new ProgressClock(instances, options.onProgress);

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
  for (let first = 0; first < instances; first += groupSize) {
    const group = Array.from({ length: Math.min(groupSize, instances - first) }, (_, i) => first + i);
    const ids = group.map((k) => firstInstance + k);
    if (options.signal?.aborted) interrupted = true;
    const result: SlotsResult = interrupted
      ? { traces: ids.map((i) => emptyTrace(i)), steps: 0, interrupted: true, forwardTokens: 0, sharedPrefixTokens: 0 }
      : await runSlots(parts, program, ids, Math.min(batchSize, ids.length), { ...options, seed, maxTokens, sampling, prefill, feedChunk, shrinkBatch }, clock);
    result.traces.forEach((trace, k) => (traces[group[k]!] = trace));
    steps += result.steps;
    forwardTokens += result.forwardTokens;
    sharedPrefixTokens = Math.max(sharedPrefixTokens, result.sharedPrefixTokens);
    interrupted ||= result.interrupted;
  }
  clock.finish();

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
  return deriveRun({ meta, workflow, streams: traces }, parts.tokenizer);
}

interface SlotsOptions extends RequestOptions {
  seed: number;
  maxTokens: number;
  sampling: SamplingOptions;
  prefill: boolean;
  feedChunk: number;
  shrinkBatch: boolean;
}

interface SlotsResult {
  /** In the order of the instances asked for. */
  traces: StreamTrace[];
  steps: number;
  interrupted: boolean;
  forwardTokens: number;
  sharedPrefixTokens: number;
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

/** Decode steps' worth of dead columns tolerated before compacting (continuous batching). */
const MIN_COMPACT_COLUMNS = 64;

/**
 * `slots` streams decoded together over the `instances` queue: each slot runs one workflow
 * instance from start to end, then (when the queue has more) takes the next one.
 */
async function runSlots(
  parts: EngineParts,
  program: TtfaProgram,
  instances: number[],
  slots: number,
  options: SlotsOptions,
  clock: ProgressClock,
): Promise<SlotsResult> {
  const { tokenizer } = parts;
  const engine = parts.engine ?? tfjsStepModel(parts.model, PREFILL_METHOD);
  const b = slots;
  const refills = instances.length > b;
  const automatonKind = options.automaton ?? defaultAutomatonKind(parts.backend);
  const automaton = makeBatchAutomaton(program, b, automatonKind);
  // Multi-token forced feeding: up to feedChunk tokens per stream per forward.
  const feedChunk = options.feedChunk;
  // Dead columns (finished streams', chunk columns a stream did not fill) are compacted away.
  const compacting = refills || feedChunk > 1;

  // Shared prefix: P steps every stream takes identically; the K/V of its first P−1 tokens
  // (those fed before the first sampled token) are computed once and held once, as the
  // cache's shared prefix (positions 0..P−2); each stream's own columns come after it.
  const prefix = options.prefill ? sharedPrefix(program, options.maxTokens - 1) : null;
  const P = prefix !== null && prefix.steps.length >= 2 ? prefix.steps.length : 0;
  const pinned = P > 0 ? P - 1 : 0;
  // When compacting, dead columns pile up between compactions (at most as many as the live
  // ones, plus one chunk: see maybeCompact).
  let cache = engine.createCache(b, compacting ? 2 * options.maxTokens + feedChunk : options.maxTokens);
  // The model's batch rows: row r of the cache holds slot rows[r]'s stream. Once no instance is
  // queued, the rows of finished streams are dropped (retireFinishedRows) so that a tail of a
  // few long streams stops paying for the whole batch at every step. Host automaton only: the
  // sampled tokens then go back to their slots through the host, which a GPU backend's tensor
  // automaton exists to avoid.
  let rows = Int32Array.from({ length: b }, (_, s) => s);
  const rowOf = Int32Array.from({ length: b }, (_, s) => s); // −1: the slot's row was dropped
  const recorder = new TraceRecorder(program.zoneCount, b);

  const slotInstance = new Int32Array(b); // instance id per slot: the sampler's per-row key
  const slotJob = new Int32Array(b).fill(-1); // index into `instances` of the slot's current stream
  const positions = new Int32Array(b); // tokens already in each stream's cache
  const ownColumns = new Int32Array(b); // cache columns the stream wrote (its own: the shared prefix is held apart)
  const active = new Uint8Array(b); // 1: the last emitted token is real and must be fed
  const extra: number[][] = Array.from({ length: b }, () => []); // forced tokens emitted after it, fed in the same forward
  const streamSteps = new Int32Array(b); // recorded steps per stream: the (seed, instance, step) counter
  const finished = new Uint8Array(b);
  const epoch = new Int32Array(b); // bumped when a slot takes a new stream: late tool answers for the old one are dropped
  const overrides: Array<{ status: StreamStatus; message: string } | undefined> = new Array(b);
  const captures: number[][] = Array.from({ length: b }, () => []);
  const pendingTools = new Set<Promise<void>>();
  const pendingBySlot = new Int32Array(b);
  const traces: StreamTrace[] = new Array(instances.length);
  let nextJob = 0;
  let lastHost = new Int32Array(b).fill(program.padId); // host copy of lastTokens (patched on refill)
  let lastTokens: tf.Tensor1D | null = null;
  let steps = 0;
  let forwardTokens = 0;
  let interrupted = false;
  let lastYield = performance.now();

  try {
    for (let s = 0; s < b; s++) assign(s, nextJob++);
    if (P > 0) {
      engine.attachPrefix(cache, prefix!.tokens.subarray(0, pinned));
      forwardTokens += pinned;
      await stepThroughPrefix();
    }
    lastTokens = tf.tensor1d(lastHost, "int32");

    for (;;) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      if (refills && refillFinishedSlots()) {
        lastTokens.dispose();
        lastTokens = tf.tensor1d(lastHost, "int32");
      }
      if (finished.every((f) => f === 1)) break;
      if (options.shrinkBatch && automatonKind === "host" && nextJob >= instances.length) retireFinishedRows();
      const width = feedWidth();
      if (compacting) maybeCompact(width);
      // decode runs outside any tidy: it may grow the cache, whose tensors must outlive the step.
      let sampled: tf.Tensor1D;
      if (steps === 0) sampled = tf.fill([b], program.padId, "int32");
      else {
        const { logits, fed } = width > 1 ? decodeFedChunk(width) : decodeStep(lastTokens);
        forwardTokens += rows.length * width;
        sampled = toSlots(sampleOnBackend(logits, options.sampling, options.seed, byRow(slotInstance), byRow(streamSteps)));
        logits.dispose();
        rows.forEach((s, r) => {
          positions[s]! += fed[r]!;
          ownColumns[s]! += fed[r]!;
        });
        for (let s = 0; s < b; s++) extra[s] = [];
      }
      const { next, host } = await automaton.step(sampled);
      sampled.dispose();
      lastTokens.dispose();
      lastTokens = next;
      lastHost = Int32Array.from(host.token);
      recorder.append(host);
      steps++;

      let live = 0;
      let heldAll = true;
      for (let s = 0; s < b; s++) {
        if (finished[s]) continue;
        let state = absorb(s, host.token[s]!, host.pc[s]!, host.forced[s]!, host.event[s]!, host.done[s]!, host.record[s]!);
        active[s] = state === "fed" ? 1 : 0;
        // Forced tokens known in advance join this one in the next forward: the automaton still
        // takes them one by one, so triggers and events fire at the right token.
        while (state === "fed" && feedChunk > 1 && extra[s]!.length + 1 < feedChunk && automaton.forcedNext!(s)) {
          const r = automaton.replay!(s, 1)[0]!;
          recorder.slot(s).push(r.token, r.pc, r.forced, r.event, r.nextPc, r.done, r.record);
          state = absorb(s, r.token, r.pc, r.forced, r.event, r.done, r.record);
          if (state === "fed") extra[s]!.push(r.token);
        }
        if (state === "ended") {
          active[s] = 0;
          extra[s] = [];
          continue;
        }
        live++;
        if (state !== "held") heldAll = false;
      }
      clock.step();
      if (live === 0 && nextJob >= instances.length) break;
      // Let the event loop breathe (interrupts, tool results); when every live stream waits
      // on a tool, sleep until one answers instead of spinning.
      if (live > 0 && heldAll && pendingTools.size > 0) await Promise.race(pendingTools);
      else if (pendingTools.size > 0 || performance.now() - lastYield >= YIELD_INTERVAL_MS) await new Promise<void>((resolve) => setImmediate(resolve));
      else continue; // no turn this step
      lastYield = performance.now();
    }
  } finally {
    lastTokens?.dispose();
    automaton.dispose();
    cache.dispose();
  }

  for (let s = 0; s < b; s++) {
    if (slotJob[s]! < 0) continue;
    const override = overrides[s] ?? (interrupted && !finished[s] ? { status: "interrupted" as const, message: "the request was interrupted" } : undefined);
    traces[slotJob[s]!] = recorder.take(s, slotInstance[s]!, override);
  }
  for (let job = nextJob; job < instances.length; job++) traces[job] = emptyTrace(instances[job]!);
  return { traces, steps, interrupted, forwardTokens, sharedPrefixTokens: P };

  /**
   * The host side of one recorded automaton step of slot s: trace bookkeeping, tool calls and
   * the ends of a stream. "fed": its token goes into the next forward; "held": waiting on a tool.
   */
  function absorb(s: number, token: number, pc: number, forced: number, event: number, done: number, record: number): "fed" | "held" | "ended" {
    if (record) {
      streamSteps[s]!++;
      clock.tokens++;
      if (!forced && pc < program.zoneCount && program.capture[pc]! >= 0) captures[s]!.push(token);
    }
    if (event & TtfaEvent.CAPTURE) startTool(s, pc);
    if (done) {
      finishStream(s);
      return "ended";
    }
    if (streamSteps[s]! >= options.maxTokens) {
      // Context limit: the stream ends truncated (its trace builder never saw `done`).
      automaton.stop(s);
      finishStream(s);
      return "ended";
    }
    if (event & TtfaEvent.HELD) {
      // A feed zone waits for output no capture will ever deliver.
      if (pendingBySlot[s] === 0) {
        failStream(s, `zone ${pc} feeds tool output, but no capture zone called a tool before it`);
        return "ended";
      }
      return "held";
    }
    return record ? "fed" : "held";
  }

  /** Widest feed this step: 1, or 1 + the most extra forced tokens a stream holds. */
  function feedWidth(): number {
    let width = 1;
    for (let s = 0; s < b; s++) if (active[s]) width = Math.max(width, 1 + extra[s]!.length);
    return width;
  }

  /** The values of a per-slot array for the cache's rows, in row order. */
  function byRow<T extends Int32Array | Uint8Array>(perSlot: T): T {
    if (rows.length === b) return perSlot;
    const out = new (perSlot.constructor as new (n: number) => T)(rows.length);
    rows.forEach((s, r) => (out[r] = perSlot[s]!));
    return out;
  }

  /** Sampled tokens per row → per slot (the automaton steps every slot; dropped rows get padding, which finished slots ignore). */
  function toSlots(perRow: tf.Tensor1D): tf.Tensor1D {
    if (rows.length === b) return perRow;
    const values = perRow.dataSync();
    perRow.dispose();
    const perSlot = new Int32Array(b).fill(program.padId);
    rows.forEach((s, r) => (perSlot[s] = values[r]!));
    return tf.tensor1d(perSlot, "int32");
  }

  /** One token per stream (logits and fed counts per row). */
  function decodeStep(tokens: tf.Tensor1D): { logits: tf.Tensor2D; fed: ArrayLike<number> } {
    if (rows.length === b) return { logits: engine.decode(cache, tokens, positions, active), fed: active };
    const rowTokens = tf.tensor1d(byRow(lastHost), "int32");
    const fed = byRow(active);
    try {
      return { logits: engine.decode(cache, rowTokens, byRow(positions), fed), fed };
    } finally {
      rowTokens.dispose();
    }
  }

  /** One forward over each stream's last token and its extra forced tokens (logits and fed counts per row). */
  function decodeFedChunk(width: number): { logits: tf.Tensor2D; fed: Int32Array } {
    const tokens = new Int32Array(rows.length * width);
    const fed = new Int32Array(rows.length);
    rows.forEach((s, r) => {
      if (!active[s]) return;
      tokens[r * width] = lastHost[s]!;
      tokens.set(extra[s]!, r * width + 1);
      fed[r] = 1 + extra[s]!.length;
    });
    return { logits: engine.decodeChunk(cache, tokens, fed, byRow(positions), width), fed };
  }

  /** Slot `s` takes the stream of instances[job], from its first step. */
  function assign(s: number, job: number): void {
    slotJob[s] = job;
    slotInstance[s] = instances[job]!;
    finished[s] = 0;
    epoch[s]!++;
    pendingBySlot[s] = 0;
    captures[s] = [];
    overrides[s] = undefined;
    positions[s] = 0;
    ownColumns[s] = 0;
    extra[s] = [];
    streamSteps[s] = 0;
    active[s] = 0; // its first step feeds nothing: the stream's first token comes from the automaton
  }

  /** Every slot's automaton through the P prefix steps at once; the cache already holds their K/V. */
  async function stepThroughPrefix(): Promise<void> {
    const pad = tf.fill([b], program.padId, "int32") as tf.Tensor1D;
    try {
      for (let i = 0; i < P; i++) {
        const { next, host } = await automaton.step(pad);
        next.dispose();
        for (let s = 0; s < b; s++)
          if (host.token[s] !== prefix!.tokens[i] || !host.record[s] || host.done[s])
            throw new Error(`internal: slot ${s} left the shared prefix at step ${i}`);
        recorder.append(host);
      }
    } finally {
      pad.dispose();
    }
    positions.fill(pinned);
    streamSteps.fill(P);
    active.fill(1);
    lastHost.fill(prefix!.tokens[P - 1]!);
    steps = P;
    clock.tokens += b * P;
  }

  /** Continuous batching: each finished slot hands its trace over and takes the next instance. Returns whether lastHost changed. */
  function refillFinishedSlots(): boolean {
    let patched = false;
    for (let s = 0; s < b && nextJob < instances.length; s++) {
      if (!finished[s]) continue;
      traces[slotJob[s]!] = recorder.take(s, slotInstance[s]!, overrides[s]);
      assign(s, nextJob++);
      automaton.resetSlot(s);
      cache.resetSlot(rowOf[s]!); // rows are only dropped once the queue is empty: the slot still has one
      if (P > 0 && automaton.replay) {
        // The new stream takes the shared prefix too: the automaton replays it (host, cheap),
        // and the cache's shared prefix — which every row attends to — stands for its K/V.
        const builder = recorder.slot(s);
        for (const r of automaton.replay(s, P)) builder.push(r.token, r.pc, r.forced, r.event, r.nextPc, r.done, r.record);
        positions[s] = pinned;
        streamSteps[s] = P;
        active[s] = 1;
        lastHost[s] = prefix!.tokens[P - 1]!;
        clock.tokens += P;
        patched = true;
      }
    }
    return patched;
  }

  /**
   * Once no instance is queued: when finished streams hold at least half the cache's rows,
   * keep only the live ones (one copy of their K/V, then every step computes fewer rows).
   */
  function retireFinishedRows(): void {
    const live = rows.filter((s) => !finished[s]);
    if (live.length === 0 || 2 * live.length > rows.length) return;
    cache = engine.keepRows(cache, Array.from(live, (s) => rowOf[s]!));
    rowOf.fill(-1);
    live.forEach((s, r) => (rowOf[s] = r));
    rows = live;
  }

  /** Drop dead columns once they make up half the cache, or the next `width` would not fit. */
  function maybeCompact(width: number): void {
    let widest = 0;
    for (let s = 0; s < b; s++) if (!finished[s]) widest = Math.max(widest, ownColumns[s]!);
    const used = cache.length;
    if (used + width >= cache.capacity || (used >= MIN_COMPACT_COLUMNS && used >= 2 * widest)) engine.compact(cache);
  }

  function finishStream(slot: number): void {
    finished[slot] = 1;
    clock.streamDone();
    // Its columns are dead from now on: masked, and dropped at the next compaction.
    if (compacting) {
      cache.resetSlot(rowOf[slot]!);
      ownColumns[slot] = 0;
    }
  }

  function startTool(slot: number, zone: number): void {
    const toolName = program.toolNames[program.capture[zone]!]!;
    const tool = parts.tools[toolName]!;
    const text = tokenizer.decode(captures[slot]!).trim();
    captures[slot] = [];
    const timeoutMs = options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
    const stream = epoch[slot]!;
    const current = () => epoch[slot] === stream;
    const call = withTimeout(Promise.resolve().then(() => tool(text, { instance: slotInstance[slot]!, tool: toolName })), timeoutMs)
      .then((output) => {
        if (current() && !finished[slot]) automaton.setToolOutput(slot, tokenizer.encode(String(output)));
      })
      .catch((error: unknown) => {
        if (current()) failStream(slot, `tool "${toolName}" failed: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        pendingTools.delete(call);
        if (current()) pendingBySlot[slot]!--;
      });
    pendingTools.add(call);
    pendingBySlot[slot]!++;
  }

  /** Ends one stream with tool_error; the others go on. */
  function failStream(slot: number, message: string): void {
    if (finished[slot]) return;
    overrides[slot] = { status: "tool_error", message };
    automaton.stop(slot);
    finishStream(slot);
  }
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

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer)) as Promise<T>;
}

/** Progress for the request's listener and the notebook's display, at most every 250 ms. */
class ProgressClock {
  tokens = 0;
  private done = 0;
  private stepCount = 0;
  private readonly started = performance.now();
  private lastReport = 0;

  constructor(
    private readonly streams: number,
    private readonly listener: ProgressListener | undefined,
  ) {}

  streamDone(): void {
    this.done++;
  }

  step(): void {
    this.stepCount++;
    const now = performance.now();
    if (this.listener && now - this.lastReport >= PROGRESS_INTERVAL_MS) {
      this.lastReport = now;
      this.listener(this.snapshot(false));
    }
  }

  finish(): void {
    this.listener?.(this.snapshot(true));
  }

  private snapshot(finished: boolean): Progress {
    const elapsedMs = performance.now() - this.started;
    const rate = this.done > 0 ? elapsedMs / this.done : null;
    return {
      streamsDone: this.done,
      streams: this.streams,
      step: this.stepCount,
      tokens: this.tokens,
      tokensPerSecond: elapsedMs > 0 ? (this.tokens * 1000) / elapsedMs : 0,
      elapsedMs,
      etaMs: finished ? 0 : rate === null ? null : rate * (this.streams - this.done),
      finished,
    };
  }
}
