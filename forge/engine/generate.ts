/**
 * The generation loop (ENGINE.md "The generation loop"): per step, for all streams at once,
 * model forward on each stream's last token → logits → seeded sampler → automaton step →
 * emitted token, fed back next step. Control never leaves the tensors: the host only reads
 * each step's small outputs (token, pc, flags) for the trace, progress and tool calls.
 */
import * as tf from "@tensorflow/tfjs";
import type { SzcpWorkflow } from "../szcp/types.js";
import type { ForgeTokenizer } from "../tokenizer/types.js";
import type { Run, RunMetadata, StreamStatus, StreamTrace } from "../run/types.js";
import type { DecoderModel } from "../model/index.js";
import type { Progress, ProgressListener } from "../api/ambient.js";
import { compileForBackend, TraceRecorder, TtfaEvent, type TtfaProgram } from "../ttfa/index.js";
import { defaultAutomatonKind, makeBatchAutomaton } from "./automaton.js";
import { resolveSampling, sampleTokens, type SamplingOptions } from "../sampler/index.js";
import { deriveRun } from "../run/index.js";
import { workflowHash } from "../szcp/index.js";
import { RequestError } from "./errors.js";
import type { RequestOptions, ToolRegistry } from "./types.js";

export interface EngineParts {
  model: DecoderModel;
  tokenizer: ForgeTokenizer;
  tools: ToolRegistry;
  /** tfjs backend name, recorded in the run's metadata. */
  backend: string;
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
  const startedAt = new Date();
  const clock = new ProgressClock(instances, options.onProgress);

  const firstInstance = options.firstInstance ?? 0;
  if (!Number.isInteger(firstInstance) || firstInstance < 0) throw new RequestError(`firstInstance must be an integer ≥ 0, got ${firstInstance}`);
  const traces: StreamTrace[] = new Array(instances);
  let interrupted = false;
  let steps = 0;
  for (let first = 0; first < instances; first += batchSize) {
    const wave = Array.from({ length: Math.min(batchSize, instances - first) }, (_, i) => first + i);
    const ids = wave.map((k) => firstInstance + k);
    if (options.signal?.aborted) interrupted = true;
    const result: WaveResult = interrupted
      ? { traces: ids.map((i) => emptyTrace(i)), steps: 0, interrupted: true }
      : await runWave(parts, program, ids, { ...options, seed, maxTokens, sampling }, clock);
    result.traces.forEach((trace, k) => (traces[wave[k]!] = trace));
    steps += result.steps;
    interrupted ||= result.interrupted;
  }
  clock.finish();

  const meta: RunMetadata = {
    runId: crypto.randomUUID(),
    seed,
    workflowHash: workflowHash(workflow),
    backend: parts.backend,
    model: parts.model.name,
    tokenizer: parts.tokenizer.identity,
    batchSize,
    instances,
    startedAt: startedAt.toISOString(),
    wallMs: Date.now() - startedAt.getTime(),
    steps,
    interrupted,
    sampling: { ...resolved },
  };
  return deriveRun({ meta, workflow, streams: traces }, parts.tokenizer);
}

interface WaveOptions extends RequestOptions {
  seed: number;
  maxTokens: number;
  sampling: SamplingOptions;
}

interface WaveResult {
  traces: StreamTrace[];
  steps: number;
  interrupted: boolean;
}

/** One batch of slots, each running one workflow instance from start to end. */
async function runWave(
  parts: EngineParts,
  program: TtfaProgram,
  instances: number[],
  options: WaveOptions,
  clock: ProgressClock,
): Promise<WaveResult> {
  const { model, tokenizer } = parts;
  const b = instances.length;
  const automaton = makeBatchAutomaton(program, b, options.automaton ?? defaultAutomatonKind(parts.backend));
  const cache = model.createCache(b, options.maxTokens);
  const recorder = new TraceRecorder(program.zoneCount, b);
  const instanceIds = Int32Array.from(instances);
  const positions = new Int32Array(b); // tokens already in each stream's cache
  const active = new Uint8Array(b); // 1: the last emitted token is real and must be fed
  const streamSteps = new Int32Array(b); // recorded steps per stream: the (seed, instance, step) counter
  const finished = new Uint8Array(b);
  const overrides = new Map<number, { status: StreamStatus; message: string }>();
  const captures: number[][] = Array.from({ length: b }, () => []);
  const pendingTools = new Set<Promise<void>>();
  const pendingBySlot = new Int32Array(b);
  let lastTokens: tf.Tensor1D = tf.fill([b], program.padId, "int32");
  let steps = 0;
  let interrupted = false;

  try {
    for (;;) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      // decode runs outside any tidy: it may grow the cache, whose tensors must outlive the step.
      let sampled: tf.Tensor1D;
      if (steps === 0) sampled = tf.fill([b], program.padId, "int32");
      else {
        const logits = model.decode(cache, lastTokens, positions, active);
        sampled = sampleTokens(logits, options.sampling, options.seed, instanceIds, streamSteps);
        logits.dispose();
      }
      const { next, host } = await automaton.step(sampled);
      sampled.dispose();
      for (let s = 0; s < b; s++) positions[s]! += active[s]!;
      lastTokens.dispose();
      lastTokens = next;
      recorder.append(host);
      steps++;

      let live = 0;
      let heldAll = true;
      for (let s = 0; s < b; s++) {
        if (finished[s]) continue;
        const record = host.record[s]!;
        const pc = host.pc[s]!;
        const event = host.event[s]!;
        active[s] = record && !host.done[s] ? 1 : 0;
        if (record) {
          streamSteps[s]!++;
          clock.tokens++;
          if (!host.forced[s] && pc < program.zoneCount && program.capture[pc]! >= 0) captures[s]!.push(host.token[s]!);
        }
        if (event & TtfaEvent.CAPTURE) startTool(s, pc);
        if (host.done[s]) {
          finished[s] = 1;
          clock.streamDone();
          continue;
        }
        if (streamSteps[s]! >= options.maxTokens) {
          // Context limit: the stream ends truncated (its trace builder never saw `done`).
          automaton.stop(s);
          finished[s] = 1;
          clock.streamDone();
          continue;
        }
        if (event & TtfaEvent.HELD && pendingBySlot[s] === 0) {
          // A feed zone waits for output no capture will ever deliver.
          failStream(s, `zone ${pc} feeds tool output, but no capture zone called a tool before it`);
          continue;
        }
        live++;
        if (!(event & TtfaEvent.HELD)) heldAll = false;
      }
      clock.step();
      if (live === 0) break;
      // Let the event loop breathe (interrupts, tool results); when every live stream waits
      // on a tool, sleep until one answers instead of spinning.
      if (heldAll && pendingTools.size > 0) await Promise.race(pendingTools);
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    lastTokens.dispose();
    automaton.dispose();
    cache.dispose();
  }

  const traces = instances.map((instance, s) =>
    recorder.take(
      s,
      instance,
      overrides.get(s) ?? (interrupted && !finished[s] ? { status: "interrupted", message: "the request was interrupted" } : undefined),
    ),
  );
  return { traces, steps, interrupted };

  function startTool(slot: number, zone: number): void {
    const toolName = program.toolNames[program.capture[zone]!]!;
    const tool = parts.tools[toolName]!;
    const text = tokenizer.decode(captures[slot]!).trim();
    captures[slot] = [];
    const timeoutMs = options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
    const call = withTimeout(Promise.resolve().then(() => tool(text, { instance: instances[slot]!, tool: toolName })), timeoutMs)
      .then((output) => {
        if (!finished[slot]) automaton.setToolOutput(slot, tokenizer.encode(String(output)));
      })
      .catch((error: unknown) => failStream(slot, `tool "${toolName}" failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        pendingTools.delete(call);
        pendingBySlot[slot]!--;
      });
    pendingTools.add(call);
    pendingBySlot[slot]!++;
  }

  /** Ends one stream with tool_error; the others go on. */
  function failStream(slot: number, message: string): void {
    if (finished[slot]) return;
    overrides.set(slot, { status: "tool_error", message });
    automaton.stop(slot);
    finished[slot] = 1;
    clock.streamDone();
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
