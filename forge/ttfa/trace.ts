/**
 * Recorded automaton steps → StreamTrace (forge/run/types.ts). Shared by the reference
 * interpreter, the tensor automaton's users (the engine) and the differential test, so
 * that every implementation builds traces the same way.
 */
import type { StreamStatus, StreamTrace, TraceEvent } from "../run/types.js";
import { TtfaEvent } from "./types.js";

/** Trace event kinds in the order they are listed within one step. */
const EVENT_ORDER = [
  [TtfaEvent.TIMEOUT, "timeout"],
  [TtfaEvent.TOOL_RESULT, "tool_result"],
  [TtfaEvent.IGNORED_JUMP, "ignored_jump"],
  [TtfaEvent.ADVANCE, "advance"],
  [TtfaEvent.JUMP, "jump"],
  [TtfaEvent.FORCED_EXIT, "forced_exit"],
  [TtfaEvent.CAPTURE, "capture"],
] as const;
const MOVES = TtfaEvent.ADVANCE | TtfaEvent.JUMP | TtfaEvent.FORCED_EXIT;

/** Builds one stream's trace step by step. */
export class StreamTraceBuilder {
  private tokens: number[] = [];
  private pcs: number[] = [];
  private forced: number[] = [];
  private events: TraceEvent[] = [];
  private finished = false;
  private timedOut = false;

  constructor(private readonly zoneCount: number) {}

  get length(): number {
    return this.tokens.length;
  }

  /** Append one step; steps that are held or padding (record = 0) are ignored. */
  push(token: number, pc: number, forced: number, event: number, nextPc: number, done: number, record: number): void {
    if (!record || this.finished) return;
    const step = this.tokens.length;
    this.tokens.push(token);
    this.pcs.push(pc);
    this.forced.push(forced ? 1 : 0);
    for (const [bit, kind] of EVENT_ORDER) {
      if (!(event & bit)) continue;
      const e: TraceEvent = { step, kind, zone: pc };
      if (bit & MOVES) e.target = nextPc >= this.zoneCount ? -1 : nextPc;
      this.events.push(e);
    }
    if (event & TtfaEvent.TIMEOUT) this.timedOut = true;
    if (done) this.finished = true;
  }

  /** The trace so far. Status: done (or timeout when a zone timed out) if the stream
   * finished, else truncated; `override` sets interrupted / tool_error. */
  build(instance: number, override?: { status: StreamStatus; message?: string }): StreamTrace {
    const status: StreamStatus = override?.status ?? (this.finished ? (this.timedOut ? "timeout" : "done") : "truncated");
    const trace: StreamTrace = {
      instance,
      tokens: Int32Array.from(this.tokens),
      pcs: Int32Array.from(this.pcs),
      forced: Uint8Array.from(this.forced),
      events: this.events.map((e) => ({ ...e })),
      status,
    };
    if (override?.message !== undefined) trace.message = override.message;
    return trace;
  }

  get done(): boolean {
    return this.finished;
  }
}

/** Host copies of one batched step (what TensorAutomaton.step returns, read back). */
export interface HostStepOutput {
  token: ArrayLike<number>;
  pc: ArrayLike<number>;
  forced: ArrayLike<number>;
  event: ArrayLike<number>;
  nextPc: ArrayLike<number>;
  done: ArrayLike<number>;
  record: ArrayLike<number>;
}

/** One StreamTraceBuilder per slot; `take` hands a slot's trace over and starts afresh (continuous batching). */
export class TraceRecorder {
  private builders: StreamTraceBuilder[];

  constructor(private readonly zoneCount: number, batch: number) {
    this.builders = Array.from({ length: batch }, () => new StreamTraceBuilder(zoneCount));
  }

  append(out: HostStepOutput): void {
    this.builders.forEach((b, slot) =>
      b.push(out.token[slot]!, out.pc[slot]!, out.forced[slot]!, out.event[slot]!, out.nextPc[slot]!, out.done[slot]!, out.record[slot]!),
    );
  }

  slot(slot: number): StreamTraceBuilder {
    return this.builders[slot]!;
  }

  take(slot: number, instance: number, override?: { status: StreamStatus; message?: string }): StreamTrace {
    const trace = this.builders[slot]!.build(instance, override);
    this.builders[slot] = new StreamTraceBuilder(this.zoneCount);
    return trace;
  }
}
