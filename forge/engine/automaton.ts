/**
 * The automaton beside the sampler, in one of two forms with one interface:
 * - "tensor": TensorAutomaton, the step as tfjs ops over the batch. The sampled tokens never
 *   leave the device; only the small per-step outputs are read for the trace. The form that
 *   matters on GPU backends.
 * - "host": HostAutomaton (one ReferenceInterpreter per slot), plus `replay` of one slot
 *   for continuous batching. On wasm and cpu, tensors live in host memory and reading B
 *   sampled tokens costs ≈ 0.05 ms, while the tensor step costs 0.3 ms of kernel launches
 *   (bench/ttfa/automaton-step.ts), so this is the default there.
 * Both are the reference semantics: the differential test runs both against it.
 */
import * as tf from "@tensorflow/tfjs";
import { HostAutomaton, TensorAutomaton, type HostStepOutput, type StepRecord, type TtfaProgram } from "../ttfa/index.js";

export type AutomatonKind = "tensor" | "host";

export interface BatchAutomaton {
  /** One step: the emitted tokens as the model's next input, and host copies for the trace. */
  step(sampled: tf.Tensor1D): Promise<{ next: tf.Tensor1D; host: HostStepOutput }>;
  setToolOutput(slot: number, tokens: ArrayLike<number>): void;
  stop(slot: number): void;
  /** The slot starts a new workflow instance from zone 0 (continuous batching). */
  resetSlot(slot: number): void;
  /**
   * Host form only: step one slot `count` times with no sampled input (padding), leaving the
   * other slots alone; returns its step records. The shared prefix replayed into a refilled slot.
   */
  replay?(slot: number, count: number): StepRecord[];
  /** Host form only: whether the slot's next step emits a prompt token already in its forced run (no sampled token read). */
  forcedNext?(slot: number): boolean;
  /** Each slot's constraint state (0 = free) before the next step: which mask its logits row gets (docs/automaton.md#constrained-zones). */
  constraintStates(): Int32Array;
  /** Each slot's trigger-automaton state before the next step (read only when an instrument asks: the jump hazard). */
  triggerStates(): Int32Array;
  dispose(): void;
}

/** Host-memory backends get the typed-array step unless told otherwise. */
export function defaultAutomatonKind(backend: string): AutomatonKind {
  return backend === "wasm" || backend === "cpu" ? "host" : "tensor";
}

export function makeBatchAutomaton(program: TtfaProgram, batch: number, kind: AutomatonKind): BatchAutomaton {
  return kind === "tensor" ? tensorAutomaton(program, batch) : hostAutomaton(program, batch);
}

function tensorAutomaton(program: TtfaProgram, batch: number): BatchAutomaton {
  const automaton = new TensorAutomaton(program, batch);
  return {
    async step(sampled) {
      const out = automaton.step(sampled);
      // One read-back of the step's small outputs, stacked.
      const stacked = tf.tidy(() => tf.stack([out.token, out.pc, out.forced, out.event, out.nextPc, out.done, out.record]));
      const data = (await stacked.data()) as Int32Array;
      stacked.dispose();
      for (const [name, tensor] of Object.entries(out)) if (name !== "token") tensor.dispose();
      const row = (k: number) => data.subarray(k * batch, (k + 1) * batch);
      return {
        next: out.token,
        host: { token: row(0), pc: row(1), forced: row(2), event: row(3), nextPc: row(4), done: row(5), record: row(6) },
      };
    },
    setToolOutput: (slot, tokens) => automaton.setToolOutput(slot, tokens),
    stop: (slot) => automaton.stop(slot),
    resetSlot: (slot) => automaton.resetSlot(slot),
    constraintStates() {
      const states = automaton.constraintStates();
      const host = states.dataSync() as Int32Array; // B ints, read only for programs with constraints
      states.dispose();
      return host;
    },
    triggerStates() {
      const states = tf.tidy(() => automaton.triggerStates());
      const host = states.dataSync() as Int32Array;
      states.dispose();
      return host;
    },
    dispose: () => automaton.dispose(),
  };
}

/** The host form: HostAutomaton, plus per-slot replay of a shared prefix through each slot's interpreter. */
function hostAutomaton(program: TtfaProgram, batch: number): BatchAutomaton {
  const automaton = new HostAutomaton(program, batch);
  return {
    async step(sampled) {
      const host = automaton.step((await sampled.data()) as Int32Array);
      return { next: tf.tensor1d(host.token, "int32"), host };
    },
    setToolOutput: (s, tokens) => automaton.setToolOutput(s, tokens),
    stop: (s) => automaton.stop(s),
    resetSlot: (s) => automaton.resetSlot(s),
    constraintStates: () => automaton.constraintStates(),
    triggerStates: () => automaton.triggerStates(),
    forcedNext(s) {
      const stream = automaton.interpreter(s);
      return !stream.done && stream.feedPtr < stream.feedEnd;
    },
    replay(s, count) {
      const stream = automaton.interpreter(s);
      return Array.from({ length: count }, () => stream.step(program.padId));
    },
    dispose: () => automaton.dispose(),
  };
}
