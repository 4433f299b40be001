/**
 * A copy of the engine's step-by-step loop (forge/engine/generate.ts with prefill off,
 * feedChunk 1 and one wave; the two automaton forms of forge/engine/automaton.ts inlined)
 * with a timer around each part of a step, to say where a Forge run spends the time a raw
 * loop does not. Same calls in the same order; left out: tools (the benchmark workflow has
 * none), the abort signal and the progress clock (a counter and a clock read per step).
 * test/bench/ttfa/profiled-wave.test.ts checks it records the engine's traces.
 *
 * Phases per step: decode (model.decode) · sample (sampleOnBackend: the engine's sampler) · readBack (host form: the
 * sampled tokens; tensor form: the stacked step outputs) · automaton (the step itself; host
 * form: HostAutomaton on typed arrays, tensor form: TensorAutomaton's tfjs ops) · upload
 * (host form: the emitted tokens back into a tensor) · host (positions, trace recorder,
 * per-stream bookkeeping) · yield (setImmediate to the event loop).
 *
 * Like the engine, it yields to the event loop once YIELD_INTERVAL_MS have passed since the
 * last turn; `yieldIntervalMs: 0` yields after every step (the engine's loop before).
 */
import * as tf from "@tensorflow/tfjs";
import type { SzcpWorkflow } from "../../forge/szcp/types.js";
import type { ForgeTokenizer } from "../../forge/tokenizer/types.js";
import { DecoderModel } from "../../forge/model/index.js";
import { tfjsStepModel, type StepModel } from "../../forge/model/step-model.js";
import { compileForBackend, HostAutomaton, TensorAutomaton, TraceRecorder, type HostStepOutput } from "../../forge/ttfa/index.js";
import type { StreamTrace } from "../../forge/run/types.js";
import { sampleOnBackend, type SamplingOptions } from "../../forge/sampler/index.js";
import { YIELD_INTERVAL_MS } from "../../forge/engine/generate.js";

export const PHASES = ["setup", "decode", "sample", "readBack", "automaton", "upload", "host", "yield", "finish"] as const;
export type Phase = (typeof PHASES)[number];
export type AutomatonForm = "host" | "tensor";

export interface ProfiledWave {
  form: AutomatonForm;
  steps: number;
  /** Tokens recorded in the traces (forced + generated), and generated only. */
  tokens: number;
  generated: number;
  ms: number;
  /** Milliseconds per phase, summed over the run. */
  phaseMs: Record<Phase, number>;
  /**
   * CPU milliseconds per phase (process.cpuUsage, all threads), summed over the run: on a
   * shared machine a phase's wall time also counts the time other tenants held the core.
   */
  phaseCpuMs: Record<Phase, number>;
  cpuMs: number;
  /** The "sample" phase of each sampled step: start (performance.now()), wall and CPU ms (to tell a steady cost from a few long ones). */
  sampleSteps: { at: number; ms: number; cpuMs: number }[];
  traces: StreamTrace[];
}

export async function profiledWave(
  /** The tfjs decoder, or a step model (e.g. the ONNX engine's, bench/ttfa/sampler.ts). */
  decoder: DecoderModel | StepModel,
  tokenizer: ForgeTokenizer,
  workflow: SzcpWorkflow,
  options: {
    batchSize: number; seed: number; maxTokens: number; form: AutomatonForm; sampling?: SamplingOptions;
    yieldIntervalMs?: number;
    /** Another sampler in place of the engine's (sampleOnBackend), e.g. the tensor sampler or an earlier commit's (bench/ttfa/sampler.ts). */
    sampler?: typeof sampleOnBackend;
  },
): Promise<ProfiledWave> {
  const phaseMs = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
  const phaseCpuMs = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
  const cpuNow = () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
  const start = performance.now();
  const cpuStart = cpuNow();
  let mark = start;
  let cpuMark = cpuStart;
  const sampleSteps: { at: number; ms: number; cpuMs: number }[] = [];
  const lap = (phase: Phase): void => {
    const now = performance.now();
    const cpu = cpuNow();
    phaseMs[phase] += now - mark;
    phaseCpuMs[phase] += cpu - cpuMark;
    if (phase === "sample") sampleSteps.push({ at: mark, ms: now - mark, cpuMs: cpu - cpuMark });
    mark = now;
    cpuMark = cpu;
  };
  const model = decoder instanceof DecoderModel ? tfjsStepModel(decoder) : decoder;
  const b = options.batchSize;
  const sampling = options.sampling ?? {};
  const yieldIntervalMs = options.yieldIntervalMs ?? YIELD_INTERVAL_MS;
  let lastYield = performance.now();
  const program = compileForBackend(workflow, tokenizer);
  const hostAutomaton = options.form === "host" ? new HostAutomaton(program, b) : null;
  const tensorAutomaton = options.form === "tensor" ? new TensorAutomaton(program, b) : null;
  const cache = model.createCache(b, options.maxTokens);
  const recorder = new TraceRecorder(program.zoneCount, b);
  const instanceIds = Int32Array.from({ length: b }, (_, i) => i);
  const positions = new Int32Array(b);
  const active = new Uint8Array(b);
  const streamSteps = new Int32Array(b);
  const finished = new Uint8Array(b);
  let lastTokens: tf.Tensor1D = tf.fill([b], program.padId, "int32");
  let steps = 0;
  let tokens = 0;
  let generated = 0;
  lap("setup");
  try {
    for (;;) {
      let sampled: tf.Tensor1D;
      if (steps === 0) sampled = tf.fill([b], program.padId, "int32");
      else {
        const logits = model.decode(cache, lastTokens, positions, active);
        lap("decode");
        sampled = (options.sampler ?? sampleOnBackend)(logits, sampling, options.seed, instanceIds, streamSteps);
        logits.dispose();
        lap("sample");
      }
      let next: tf.Tensor1D;
      let host: HostStepOutput;
      if (hostAutomaton) {
        const ids = (await sampled.data()) as Int32Array;
        sampled.dispose();
        lap("readBack");
        host = hostAutomaton.step(ids);
        lap("automaton");
        next = tf.tensor1d(host.token as Int32Array, "int32");
        lap("upload");
      } else {
        const out = tensorAutomaton!.step(sampled);
        sampled.dispose();
        lap("automaton");
        const stacked = tf.tidy(() => tf.stack([out.token, out.pc, out.forced, out.event, out.nextPc, out.done, out.record]));
        const data = (await stacked.data()) as Int32Array;
        stacked.dispose();
        for (const [name, tensor] of Object.entries(out)) if (name !== "token") tensor.dispose();
        const row = (k: number) => data.subarray(k * b, (k + 1) * b);
        host = { token: row(0), pc: row(1), forced: row(2), event: row(3), nextPc: row(4), done: row(5), record: row(6) };
        next = out.token;
        lap("readBack");
      }
      for (let s = 0; s < b; s++) positions[s]! += active[s]!;
      lastTokens.dispose();
      lastTokens = next;
      recorder.append(host);
      steps++;
      let live = 0;
      for (let s = 0; s < b; s++) {
        if (finished[s]) continue;
        const record = host.record[s]!;
        active[s] = record && !host.done[s] ? 1 : 0;
        if (record) {
          streamSteps[s]!++;
          tokens++;
          if (!host.forced[s]) generated++;
        }
        if (host.done[s]) {
          finished[s] = 1;
          continue;
        }
        if (streamSteps[s]! >= options.maxTokens) {
          // The engine calls automaton.stop(s) here; every stream of this benchmark reaches
          // the cap at the same step, so the loop ends now and stop() has nothing to change.
          // (Not calling it also sidesteps TensorAutomaton.stop failing at batch 1: see report.)
          finished[s] = 1;
          continue;
        }
        live++;
      }
      lap("host");
      if (live === 0) break;
      if (performance.now() - lastYield >= yieldIntervalMs) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      lap("yield");
    }
  } finally {
    lastTokens.dispose();
    hostAutomaton?.dispose();
    tensorAutomaton?.dispose();
    cache.dispose();
  }
  const traces = Array.from({ length: b }, (_, s) => recorder.take(s, s));
  lap("finish");
  return { form: options.form, steps, tokens, generated, ms: performance.now() - start, phaseMs, phaseCpuMs, cpuMs: cpuNow() - cpuStart, sampleSteps, traces };
}

