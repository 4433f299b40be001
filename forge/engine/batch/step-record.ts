/**
 * What one loop step did, as objects: a slot's step record (the automaton's outputs for it)
 * and the whole step as step observers see it (per-step instruments: log-probabilities,
 * decision probabilities, constraint masks).
 */
import type * as tf from "@tensorflow/tfjs";
import type { HostStepOutput, StepRecord } from "../../ttfa/index.js";

export type { StepRecord };

/** Slot `s`'s record in a batch step's host outputs. */
export function slotRecord(host: HostStepOutput, s: number): StepRecord {
  return {
    token: host.token[s]!,
    pc: host.pc[s]!,
    forced: host.forced[s]!,
    event: host.event[s]!,
    nextPc: host.nextPc[s]!,
    done: host.done[s]!,
    record: host.record[s]!,
  };
}

/**
 * One loop step, after the automaton took it and the host absorbed it. Valid only during
 * the observer's call: `logits` is disposed right after, and the arrays are reused.
 */
export interface StepObservation {
  /** Loop steps taken before this one (0: the first, which samples nothing). */
  step: number;
  /**
   * The model's logits [rows, vocab] this step sampled from (each row's last fed position),
   * before any temperature or truncation; null on steps without a forward (the first step,
   * shared-prefix steps). Row r is slot `rows[r]`'s stream.
   */
  logits: tf.Tensor2D | null;
  /** The slot of each logits row. */
  rows: Int32Array;
  /** Tokens each row fed into this step's forward (0: held). */
  fed: ArrayLike<number>;
  /** Instance id per slot. */
  instance: Int32Array;
  /**
   * Per slot, the records the host absorbed this step, in order: the batch step's first (its
   * token is the one sampled from the slot's logits row when not forced), then the forced
   * steps multi-token feeding took after it. Empty for slots that had finished.
   */
  records: StepRecord[][];
  /**
   * Per slot, the index of its stream in the request (the order of the run's traces before
   * they are sorted), −1 for a slot never assigned. Unlike `instance` it is unique: a replay may
   * run one instance several times.
   */
  stream: Int32Array;
  /** Per slot, the length of its trace before this step: where the slot's first record lands in StreamTrace.tokens. */
  positions: Int32Array;
  /** Per slot, the constraint state its row was masked with (0 = free); null when the program has no constraints. */
  constraintStates: Int32Array | null;
  /** Per slot, the trigger-automaton state before the step; null unless an observer `needsTriggerStates`. */
  triggerStates: Int32Array | null;
  /**
   * Probe forwards (StepModel.probe), during the call only: per slot of `slots`, the logits
   * [tokens.length, vocab] of one token tree fed after that slot's past (this step's forward
   * included), nothing written — null for a slot whose stream ended this step. One call serves
   * many slots (the engine may batch them). Null when the engine has no probe.
   */
  probe?: ((slots: Int32Array, tokens: Int32Array, parents: Int32Array) => Array<Float32Array | null>) | null;
}

/** A per-step instrument, passed to generateRun. Called once per loop step with a forward, synchronously. */
export interface StepObserver {
  /** Read the slots' trigger states before each step (a host read per step on the tensor automaton). */
  readonly needsTriggerStates?: boolean;
  onStep(step: StepObservation): void;
}
