/**
 * The automaton step on host typed arrays: a batch of reference interpreters behind the
 * TensorAutomaton's slot API. On backends whose tensors live in host memory (wasm, cpu)
 * reading the sampled tokens back is nearly free (docs/engine.md#backend-facts), and this step costs about
 * 0.1–0.5 µs per stream instead of a few hundred µs of kernel launches per batch
 * (bench/ttfa/automaton-step.ts). It is the reference itself, so the differential test
 * covers it by construction; test/forge/ttfa/differential.test.ts runs it as a batch too.
 */
import { ReferenceInterpreter, type InterpreterOptions } from "./reference.js";
import { TtfaError } from "./errors.js";
import { TtfaEvent, type TtfaProgram } from "./types.js";
import type { HostStepOutput } from "./trace.js";

export interface HostStepArrays extends HostStepOutput {
  token: Int32Array;
  pc: Int32Array;
  forced: Int32Array;
  event: Int32Array;
  held: Int32Array;
  done: Int32Array;
  nextPc: Int32Array;
  record: Int32Array;
}

export class HostAutomaton {
  private streams: ReferenceInterpreter[];

  constructor(readonly program: TtfaProgram, readonly batch: number, private readonly options: InterpreterOptions = {}) {
    if (!Number.isInteger(batch) || batch < 1) throw new TtfaError(`batch must be a positive integer, found ${batch}`);
    this.streams = Array.from({ length: batch }, () => new ReferenceInterpreter(program, options));
  }

  /** One step for the whole batch; the returned arrays are fresh (the caller may keep them). */
  step(sampled: ArrayLike<number>): HostStepArrays {
    const B = this.batch;
    if (sampled.length !== B) throw new TtfaError(`step() expects ${B} sampled tokens, found ${sampled.length}`);
    const out: HostStepArrays = {
      token: new Int32Array(B), pc: new Int32Array(B), forced: new Int32Array(B), event: new Int32Array(B),
      held: new Int32Array(B), done: new Int32Array(B), nextPc: new Int32Array(B), record: new Int32Array(B),
    };
    for (let b = 0; b < B; b++) {
      const r = this.streams[b]!.step(sampled[b]!);
      out.token[b] = r.token;
      out.pc[b] = r.pc;
      out.forced[b] = r.forced;
      out.event[b] = r.event;
      out.held[b] = r.event & TtfaEvent.HELD ? 1 : 0;
      out.done[b] = r.done;
      out.nextPc[b] = r.nextPc;
      out.record[b] = r.record;
    }
    return out;
  }

  /** Each slot's constraint state (0 = free): the row of program.constraints masking its next sampled token. */
  constraintStates(out: Int32Array = new Int32Array(this.batch)): Int32Array {
    for (let b = 0; b < this.batch; b++) out[b] = this.streams[b]!.constraintState;
    return out;
  }

  /** Each slot's trigger-automaton state: where its recent bytes stand in the trigger patterns (instruments read the jump hazard from it). */
  triggerStates(out: Int32Array = new Int32Array(this.batch)): Int32Array {
    for (let b = 0; b < this.batch; b++) out[b] = this.streams[b]!.trigState;
    return out;
  }

  /** The interpreter running one slot (the engine replays a shared prefix through it). */
  interpreter(slot: number): ReferenceInterpreter {
    return this.stream(slot);
  }

  setToolOutput(slot: number, tokens: ArrayLike<number>): void {
    this.stream(slot).setToolOutput(tokens);
  }

  stop(slot: number): void {
    this.stream(slot).stop();
  }

  resetSlot(slot: number): void {
    this.stream(slot);
    this.streams[slot] = new ReferenceInterpreter(this.program, this.options);
  }

  dispose(): void {
    this.streams = [];
  }

  private stream(slot: number): ReferenceInterpreter {
    const s = this.streams[slot];
    if (!Number.isInteger(slot) || !s) throw new TtfaError(`slot ${slot} is outside the batch (0..${this.batch - 1})`);
    return s;
  }
}
