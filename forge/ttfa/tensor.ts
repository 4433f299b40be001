/**
 * The automaton step on tensors (docs/automaton.md#the-step): the same semantics as reference.ts, for a
 * batch of B streams at once, written only with tfjs ops — no per-stream host code and no
 * read-back inside `step`, so on a GPU backend the control flow never leaves the device.
 *
 * Layout: every per-zone column is a [Z + 1] int32 tensor whose row Z is a harmless END
 * sentinel, so gathers at pc = Z (done streams) stay in bounds; a field at pc is one
 * gatherND (≈ 7× cheaper than gather on wasm, docs/engine.md#backend-facts). The forced memory is the
 * program's forcedTokens followed by one tool buffer of `maxToolTokens` per slot.
 * Conditions are bool tensors combined with logical ops, and choices are one Select
 * kernel each (tf.where would add three copies on wasm, docs/engine.md#backend-facts).
 */
import * as tf from "@tensorflow/tfjs";
import { TtfaError } from "./errors.js";
import { DEFAULT_MAX_TOOL_TOKENS } from "./reference.js";
import { TtfaEvent, type TtfaProgram } from "./types.js";

export interface AutomatonStepOutput {
  /** The emitted token: the model's next input (padding for held and done streams). */
  token: tf.Tensor1D;
  /** Zone the token was emitted in (before any move). */
  pc: tf.Tensor1D;
  forced: tf.Tensor1D;
  /** TtfaEvent bits. */
  event: tf.Tensor1D;
  /** 1 when the stream waits for tool output (nothing changed, do not record). */
  held: tf.Tensor1D;
  /** 1 when the stream is done after this step. */
  done: tf.Tensor1D;
  /** Zone after the step (Z = END). */
  nextPc: tf.Tensor1D;
  /** 1 when the step belongs to the stream's trace (not held, not padding). */
  record: tf.Tensor1D;
}

export interface TensorAutomatonOptions {
  /** Capacity of each slot's tool-output buffer, in tokens (the reference uses the same default). */
  maxToolTokens?: number;
}

/** Per-stream state, one entry per slot. Booleans are bool tensors; the rest int32. */
interface StreamState {
  pc: tf.Tensor1D;
  ptr: tf.Tensor1D;
  end: tf.Tensor1D;
  gen: tf.Tensor1D;
  /** Trigger state premultiplied by the table's column count (saves a multiply per step). */
  trigRow: tf.Tensor1D;
  esc: tf.Tensor1D;
  phase: tf.Tensor1D;
  ready: tf.Tensor1D;
  done: tf.Tensor1D;
  counters: tf.Tensor2D;
  /** Constraint state (0 = free; constraint.ts), the row of program.constraints masking the next sampled token. */
  cstate: tf.Tensor1D;
}
type BoolField = "esc" | "ready" | "done";
const BOOL_FIELDS: ReadonlySet<string> = new Set<BoolField>(["esc", "ready", "done"]);

/** Per-zone columns ([Z + 1], row Z = END sentinel), shaped so each decision is one compare. */
type ZoneColumn =
  | "maxGen" | "feedKey" | "advanceStart" | "advanceEnd" | "advance" | "controlAt" | "counter" | "maxEntries"
  | "minEntries" | "next" | "jump" | "isCapture" | "feedStart" | "feedEnd" | "constraintStart";

/** Larger than any loop count a stream can reach. */
const BIG = 1 << 30;
/** Never a pattern id. */
const NO_PATTERN = -5;

export class TensorAutomaton {
  readonly batch: number;
  readonly maxToolTokens: number;
  private readonly counterWidth: number;
  /** Which mechanisms the program uses: the step leaves out the kernels of the others. */
  private readonly features: { feed: boolean; loops: boolean; capture: boolean };
  private readonly columns: Record<ZoneColumn, tf.Tensor1D>;
  /** Token-level trigger table, flat [S * columns]: next state premultiplied by columns, and first match. */
  private readonly triggerNextRow: tf.Tensor1D;
  private readonly triggerMatch: tf.Tensor1D;
  /** Constraint table, flat [S * columns], disallowed cells (−1) mapped to the free state 0 as constraintNext does; null when the program has no constraints. */
  private readonly constraintNextFlat: tf.Tensor1D | null;
  private readonly constraintColumns: tf.Scalar;
  /** Constant [B] vectors (Select needs full shapes) and scalars. */
  private readonly vectors: {
    zero: tf.Tensor1D; one: tf.Tensor1D; two: tf.Tensor1D; minusOne: tf.Tensor1D; pad: tf.Tensor1D; noBytes: tf.Tensor1D;
    end: tf.Scalar; escapeOpen: tf.Scalar; escapeClose: tf.Scalar; escapeSingle: tf.Scalar;
    events: Record<Exclude<keyof typeof TtfaEvent, "NONE">, tf.Tensor1D>;
  };
  private readonly counterBase: tf.Tensor1D;
  private readonly toolStart: tf.Tensor1D;
  private readonly memoryLast: tf.Scalar;
  // Host-maintained per-slot tool bookkeeping (re-uploaded by setToolOutput, outside the step).
  private toolEnd: tf.Tensor1D;
  private toolEmpty: tf.Tensor1D;
  private toolNonEmpty: tf.Tensor1D;
  private phaseAfterToolStart: tf.Tensor1D;
  private forcedMemory: tf.Tensor1D;
  private readonly hostTool: Int32Array;
  private readonly hostToolLength: Int32Array;
  private state: StreamState;
  private readonly initialRow: { pc: number; ptr: number; end: number; done: number; counters: Int32Array; cstate: number };
  private disposed = false;

  constructor(readonly program: TtfaProgram, batch: number, options: TensorAutomatonOptions = {}) {
    if (!Number.isInteger(batch) || batch < 1) throw new TtfaError(`batch must be a positive integer, found ${batch}`);
    this.batch = batch;
    this.maxToolTokens = options.maxToolTokens ?? DEFAULT_MAX_TOOL_TOKENS;
    const p = program;
    const Z = p.zoneCount;
    const C = (this.counterWidth = Math.max(p.counterCount, 2)); // tf.oneHot needs depth ≥ 2
    const col = (f: (z: number) => number, sentinel: number) => {
      const a = new Int32Array(Z + 1);
      for (let zi = 0; zi < Z; zi++) a[zi] = f(zi);
      a[Z] = sentinel;
      return tf.tensor1d(a, "int32");
    };
    const isLoop = (zi: number) => p.counter[zi]! >= 0;
    this.features = {
      feed: p.feed.some((t) => t >= 0),
      loops: p.counter.some((c) => c >= 0),
      capture: p.capture.some((t) => t >= 0),
    };
    this.columns = {
      maxGen: col((zi) => p.maxGen[zi]!, 0),
      feedKey: col((zi) => (p.feed[zi]! >= 0 ? 0 : 10), 10),
      advanceStart: col((zi) => p.advanceStart[zi]!, 0),
      advanceEnd: col((zi) => p.advanceEnd[zi]!, 0),
      advance: col((zi) => p.advance[zi]!, NO_PATTERN),
      controlAt: col((zi) => (p.jump[zi]! >= 0 ? p.control : NO_PATTERN), NO_PATTERN),
      counter: col((zi) => p.counter[zi]!, -1),
      // entries = iterations + 1: over max when entries ≥ max + 1; under min when entries ≤ min.
      maxEntries: col((zi) => (isLoop(zi) && p.max[zi]! >= 0 ? p.max[zi]! + 1 : BIG), BIG),
      minEntries: col((zi) => (isLoop(zi) && p.min[zi]! >= 0 ? p.min[zi]! : -BIG), -BIG),
      next: col((zi) => p.next[zi]!, Z),
      jump: col((zi) => p.jump[zi]!, -1),
      isCapture: col((zi) => (p.capture[zi]! >= 0 ? 1 : 0), 0).cast("bool") as tf.Tensor1D,
      feedStart: col((zi) => p.feedStart[zi]!, 0),
      feedEnd: col((zi) => p.feedEnd[zi]!, 0),
      constraintStart: col((zi) => p.constraintStart[zi]!, 0),
    };
    const ct = p.constraints;
    this.constraintNextFlat = ct.stateCount > 1 ? tf.tensor1d(ct.next.map((n) => (n < 0 ? 0 : n)), "int32") : null;
    this.constraintColumns = tf.scalar(ct.columns, "int32");
    const t = p.trigger;
    this.triggerNextRow = tf.tensor1d(t.next.map((state) => state * t.columns), "int32");
    this.triggerMatch = tf.tensor1d(t.match, "int32");
    const fill = (value: number) => tf.fill([batch], value, "int32") as tf.Tensor1D;
    const scalar = (value: number) => tf.scalar(value, "int32");
    const E = TtfaEvent;
    this.vectors = {
      zero: fill(0), one: fill(1), two: fill(2), minusOne: fill(-1), pad: fill(p.padId), noBytes: fill(t.vocabSize),
      end: scalar(Z), escapeOpen: scalar(p.escapeOpen), escapeClose: scalar(p.escapeClose), escapeSingle: scalar(p.escapeSingle),
      events: {
        TIMEOUT: fill(E.TIMEOUT), TOOL_RESULT: fill(E.TOOL_RESULT), ADVANCE: fill(E.ADVANCE), JUMP: fill(E.JUMP),
        IGNORED_JUMP: fill(E.IGNORED_JUMP), FORCED_EXIT: fill(E.FORCED_EXIT), CAPTURE: fill(E.CAPTURE), HELD: fill(E.HELD),
        PAD: fill(E.PAD),
      },
    };
    this.counterBase = tf.tensor1d(Int32Array.from({ length: batch }, (_, b) => b * C), "int32");
    const F = p.forcedTokens.length;
    this.toolStart = tf.tensor1d(Int32Array.from({ length: batch }, (_, b) => F + b * this.maxToolTokens), "int32");
    this.memoryLast = scalar(F + batch * this.maxToolTokens - 1);
    this.hostTool = new Int32Array(batch * this.maxToolTokens).fill(p.padId);
    this.hostToolLength = new Int32Array(batch);
    this.toolEnd = this.toolStart.clone();
    this.toolEmpty = tf.ones([batch], "bool") as tf.Tensor1D;
    this.toolNonEmpty = tf.zeros([batch], "bool") as tf.Tensor1D;
    this.phaseAfterToolStart = fill(2);
    this.forcedMemory = this.uploadForcedMemory();

    // Initial state: every slot has just entered zone 0.
    const counters = new Int32Array(C);
    if (p.counter[0]! >= 0) counters[p.counter[0]!] = 1;
    this.initialRow = { pc: 0, ptr: p.feedStart[0]!, end: p.feedEnd[0]!, done: Z === 0 ? 1 : 0, counters, cstate: Z === 0 ? 0 : p.constraintStart[0]! };
    const countersAll = new Int32Array(batch * C);
    for (let b = 0; b < batch; b++) countersAll.set(counters, b * C);
    const flag = (value: number) => tf.fill([batch], value, "bool") as tf.Tensor1D;
    this.state = {
      pc: fill(0), ptr: fill(this.initialRow.ptr), end: fill(this.initialRow.end), gen: fill(0), trigRow: fill(0),
      esc: flag(0), phase: fill(0), ready: flag(0), done: flag(this.initialRow.done),
      counters: tf.tensor2d(countersAll, [batch, C], "int32"), cstate: fill(this.initialRow.cstate),
    };
  }

  /** Each slot's constraint state (0 = free), a fresh tensor the caller owns: the engine gathers mask rows with it before sampling. */
  constraintStates(): tf.Tensor1D {
    if (this.disposed) throw new TtfaError("this TensorAutomaton was disposed");
    return this.state.cstate.clone();
  }

  /** Each slot's trigger-automaton state, a fresh tensor the caller owns (the state is kept premultiplied by the table's columns). */
  triggerStates(): tf.Tensor1D {
    if (this.disposed) throw new TtfaError("this TensorAutomaton was disposed");
    return tf.floorDiv(this.state.trigRow, tf.scalar(this.program.trigger.columns, "int32")) as tf.Tensor1D;
  }

  /** One step for the whole batch. The caller owns (and disposes) the returned tensors. */
  step(sampled: tf.Tensor1D): AutomatonStepOutput {
    if (this.disposed) throw new TtfaError("this TensorAutomaton was disposed");
    if (sampled.shape[0] !== this.batch || sampled.dtype !== "int32")
      throw new TtfaError(`step() expects an int32 tensor of shape [${this.batch}], found ${sampled.dtype} [${sampled.shape}]`);
    const p = this.program;
    const z = this.columns;
    const v = this.vectors;
    const s = this.state;
    const B = this.batch;

    const result = tf.tidy((): tf.TensorContainer => {
      // Kernels are called directly: the op wrappers' checks cost up to half a kernel each at this
      // size, and every input here already has the right dtype and shape. Select is one kernel;
      // tf.where would add three copies (docs/engine.md#backend-facts).
      const kernel = (name: string, inputs: tf.NamedTensorMap, attrs?: object) =>
        tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor1D;
      const sel = <T extends tf.Tensor>(c: tf.Tensor, a: T, b: T) => kernel("Select", { condition: c, t: a, e: b }) as unknown as T;
      const and = (a: tf.Tensor, b: tf.Tensor) => kernel("LogicalAnd", { a, b });
      const or = (a: tf.Tensor, b: tf.Tensor) => kernel("LogicalOr", { a, b });
      const not = (x: tf.Tensor) => kernel("LogicalNot", { x });
      const binary = (name: string) => (a: tf.Tensor, b: tf.Tensor) => kernel(name, { a, b });
      const [add, equal, notEqual, greaterEqual, less, lessEqual, minimum] =
        ["Add", "Equal", "NotEqual", "GreaterEqual", "Less", "LessEqual", "Minimum"].map(binary) as Array<ReturnType<typeof binary>>;
      const gather = (params: tf.Tensor, indices: tf.Tensor) => kernel("GatherNd", { params, indices });
      const pcIdx = s.pc.reshape([B, 1]) as tf.Tensor2D;
      const at = (column: ZoneColumn, index: tf.Tensor = pcIdx) => gather(z[column], index);

      // 1-2. Timeout; tool input (held / start the tool run / the advance pattern after it).
      const live = not(s.done);
      const exhausted = and(live, greaterEqual(s.ptr, s.end));
      const timeout = and(exhausted, greaterEqual(s.gen, at("maxGen")));
      // Programs without feed zones skip the tool machinery (a program constant, like the escape kind).
      let held: tf.Tensor | null = null;
      let startTool: tf.Tensor | null = null;
      let ptr1: tf.Tensor1D, end1: tf.Tensor1D, phase1 = s.phase, ready1 = s.ready;
      if (this.features.feed) {
        const quiet = notEqual(exhausted, timeout); // x ⊆ y for bools: y & !x = notEqual(y, x), one kernel
        const feedKey = add(at("feedKey"), s.phase); // = toolPhase in feed zones, ≥ 10 elsewhere
        const phase0 = and(quiet, equal(feedKey, v.zero));
        const afterTool = and(quiet, equal(feedKey, v.one));
        startTool = and(phase0, s.ready);
        held = notEqual(phase0, startTool);
        const startAdvance = or(or(timeout, afterTool), and(startTool, this.toolEmpty));
        const startToolRun = and(startTool, this.toolNonEmpty);
        ptr1 = sel(startAdvance, at("advanceStart"), sel(startToolRun, this.toolStart, s.ptr));
        end1 = sel(startAdvance, at("advanceEnd"), sel(startToolRun, this.toolEnd, s.end));
        phase1 = sel(startTool, this.phaseAfterToolStart, sel(afterTool, v.two, s.phase));
        ready1 = notEqual(s.ready, startTool);
      } else {
        ptr1 = sel(timeout, at("advanceStart"), s.ptr);
        end1 = sel(timeout, at("advanceEnd"), s.end);
      }
      const esc1 = and(s.esc, not(timeout));
      const row1 = sel(timeout, v.zero, s.trigRow); // a timeout reads the injected pattern from the root

      // 3-4. Feed or pass through; held and done streams emit padding.
      const forcedNow = and(live, less(ptr1, end1));
      const forcedToken = gather(this.forcedMemory, minimum(ptr1, this.memoryLast).reshape([B, 1])) as tf.Tensor1D;
      const silent = held ? or(s.done, held) : s.done;
      const token = sel(silent, v.pad, sel(forcedNow, forcedToken, sampled));
      const active = not(silent);
      const ptr2 = sel(forcedNow, add(ptr1, v.one), ptr1);
      const gen2 = sel(notEqual(active, forcedNow), add(s.gen, v.one), s.gen); // forced ⊆ active

      // 5. Triggers: one lookup; silent streams read the no-bytes column (no move, no match).
      const column = sel(silent, v.noBytes, tf.clipByValue(token, 0, p.trigger.vocabSize));
      const cell = add(row1, column).reshape([B, 1]);
      const row2 = gather(this.triggerNextRow, cell) as tf.Tensor1D;
      const m = gather(this.triggerMatch, cell) as tf.Tensor1D;

      // Escapes (which kind is a program constant, so this branch is not per-stream code).
      let esc2 = esc1;
      let unescaped: tf.Tensor | null = null; // null: no escape configured
      if (p.escapeOpen >= 0) {
        esc2 = or(equal(m, v.escapeOpen), and(esc1, not(equal(m, v.escapeClose))));
        unescaped = not(esc1);
      } else if (p.escapeSingle >= 0) {
        const single = equal(m, v.escapeSingle);
        const otherMatch = and(greaterEqual(m, v.zero), not(single));
        esc2 = and(notEqual(single, esc1), not(otherMatch)); // single toggles; another match clears
        unescaped = not(esc1);
      }
      const whenUnescaped = (x: tf.Tensor) => (unescaped ? and(unescaped, x) : x);

      // Dispatch: the zone's advance (maybe a forced loop exit), the control pattern at a jump site (maybe below min).
      const controlHere = equal(m, at("controlAt")); // controlAt = -5 where the zone is no jump site
      const isAdvance = whenUnescaped(equal(m, at("advance")));
      const isControl = whenUnescaped(controlHere);
      let advance = isAdvance;
      let jump = isControl;
      let forcedExit: tf.Tensor | null = null;
      let jumpBlocked: tf.Tensor | null = null;
      let c: tf.Tensor1D | null = null;
      if (this.features.loops) {
        c = at("counter");
        const countersFlat = s.counters.reshape([B * this.counterWidth]);
        const count = gather(countersFlat, add(this.counterBase, tf.relu(c)).reshape([B, 1])) as tf.Tensor1D;
        const overMax = greaterEqual(count, at("maxEntries")); // entries ≥ max + 1 (BIG when unbounded)
        const underMin = lessEqual(count, at("minEntries")); // entries ≤ min (-BIG when unbounded)
        forcedExit = and(isAdvance, overMax);
        advance = notEqual(isAdvance, forcedExit);
        jumpBlocked = and(isControl, underMin);
        jump = notEqual(isControl, jumpBlocked);
      }
      const escapedControl = unescaped ? and(esc1, controlHere) : null;
      const ignoredJump = jumpBlocked && escapedControl ? or(jumpBlocked, escapedControl) : (jumpBlocked ?? escapedControl);
      const leaveByJump = forcedExit ? or(forcedExit, jump) : jump;
      const moved = or(advance, leaveByJump);
      const target = sel(advance, at("next"), at("jump"));
      const capture = this.features.capture ? and(moved, at("isCapture")) : null;

      // Enter the target zone.
      const pc2 = sel(moved, target, s.pc);
      const pc2Idx = pc2.reshape([B, 1]) as tf.Tensor2D;
      let counters2 = s.counters;
      if (c) {
        const C = this.counterWidth;
        const resetRow = tf.oneHot(sel(leaveByJump, c, v.minusOne), C, 1, 0, "int32");
        const enterRow = tf.oneHot(sel(moved, at("counter", pc2Idx), v.minusOne), C, 1, 0, "int32");
        counters2 = add(tf.sub(s.counters, tf.mul(s.counters, resetRow)), enterRow) as unknown as tf.Tensor2D;
      }
      const ptr3 = sel(moved, at("feedStart", pc2Idx), ptr2);
      const end3 = sel(moved, at("feedEnd", pc2Idx), end1);
      const gen3 = sel(moved, v.zero, gen2);
      const phase3 = this.features.feed ? sel(moved, v.zero, phase1) : phase1;
      const done2 = or(s.done, and(moved, equal(pc2, v.end)));
      // Constraint state: a generated token walks the table (constraint.ts); entering a zone starts its constraint.
      let cstate2 = s.cstate;
      if (this.constraintNextFlat) {
        const generated = notEqual(active, forcedNow); // forced ⊆ active
        const ccell = add(kernel("Multiply", { a: s.cstate, b: this.constraintColumns }), column).reshape([B, 1]);
        cstate2 = sel(moved, at("constraintStart", pc2Idx), sel(generated, gather(this.constraintNextFlat, ccell) as tf.Tensor1D, s.cstate));
      }

      // 6. Outputs.
      const E = v.events;
      const bits = ([
        [timeout, E.TIMEOUT], [startTool, E.TOOL_RESULT], [advance, E.ADVANCE], [jump, E.JUMP], [ignoredJump, E.IGNORED_JUMP],
        [forcedExit, E.FORCED_EXIT], [capture, E.CAPTURE], [held, E.HELD], [s.done, E.PAD],
      ] as Array<[tf.Tensor | null, tf.Tensor1D]>).flatMap(([cond, code]) => (cond ? [sel(cond, code, v.zero)] : []));
      const event = tf.addN(bits) as tf.Tensor1D;
      const next: StreamState = {
        pc: pc2 as tf.Tensor1D, ptr: ptr3 as tf.Tensor1D, end: end3 as tf.Tensor1D, gen: gen3 as tf.Tensor1D, trigRow: row2,
        esc: esc2 as tf.Tensor1D, phase: phase3 as tf.Tensor1D, ready: ready1 as tf.Tensor1D, done: done2 as tf.Tensor1D, counters: counters2,
        cstate: cstate2 as tf.Tensor1D,
      };
      const out: Omit<AutomatonStepOutput, "pc"> = {
        token, forced: forcedNow.cast("int32") as tf.Tensor1D, event,
        held: (held ? held.cast("int32") : tf.zeros([B], "int32")) as tf.Tensor1D,
        done: done2.cast("int32") as tf.Tensor1D, nextPc: pc2.clone(), record: active.cast("int32") as tf.Tensor1D,
      };
      return { next, out } as unknown as tf.TensorContainer;
    }) as unknown as { next: StreamState; out: Omit<AutomatonStepOutput, "pc"> };
    // The old pc tensor becomes the output's `pc` (the zone each token was emitted in): no copy.
    const pcOut = s.pc;
    this.replaceState(result.next, pcOut);
    return { ...result.out, pc: pcOut };
  }

  /** Give slot its tool output (tokenized); its next feed zone consumes it. Host-side, outside the step. */
  setToolOutput(slot: number, tokens: ArrayLike<number>): void {
    this.checkSlot(slot);
    if (tokens.length > this.maxToolTokens)
      throw new TtfaError(`tool output for slot ${slot} has ${tokens.length} tokens; the buffer holds ${this.maxToolTokens}`);
    const base = slot * this.maxToolTokens;
    this.hostTool.fill(this.program.padId, base, base + this.maxToolTokens);
    this.hostTool.set(Array.from(tokens), base);
    this.hostToolLength[slot] = tokens.length;
    const F = this.program.forcedTokens.length;
    const lengths = this.hostToolLength;
    const old = [this.toolEnd, this.toolEmpty, this.toolNonEmpty, this.phaseAfterToolStart, this.forcedMemory];
    this.toolEnd = tf.tensor1d(Int32Array.from(lengths, (n, b) => F + b * this.maxToolTokens + n), "int32");
    this.toolEmpty = tf.tensor1d(Uint8Array.from(lengths, (n) => (n === 0 ? 1 : 0)), "bool");
    this.toolNonEmpty = tf.tensor1d(Uint8Array.from(lengths, (n) => (n === 0 ? 0 : 1)), "bool");
    this.phaseAfterToolStart = tf.tensor1d(Int32Array.from(lengths, (n) => (n === 0 ? 2 : 1)), "int32");
    this.forcedMemory = this.uploadForcedMemory();
    old.forEach((x) => x.dispose());
    this.updateSlot(slot, { ready: 1 });
  }

  /** Mark slot done (truncation, interruption): it emits padding from now on. */
  stop(slot: number): void {
    this.checkSlot(slot);
    this.updateSlot(slot, { done: 1 });
  }

  /** Start a fresh workflow instance in slot (continuous batching). */
  resetSlot(slot: number): void {
    this.checkSlot(slot);
    const r = this.initialRow;
    this.updateSlot(slot, { pc: r.pc, ptr: r.ptr, end: r.end, gen: 0, trigRow: 0, esc: 0, phase: 0, ready: 0, done: r.done, cstate: r.cstate }, r.counters);
  }

  /** Host copy of one slot's state (for tests and debugging; reads back). */
  readSlot(slot: number): { pc: number; ptr: number; end: number; gen: number; trig: number; esc: number; phase: number; ready: number; done: number; counters: number[]; cstate: number } {
    this.checkSlot(slot);
    const s = this.state;
    const get = (x: tf.Tensor1D) => Number(x.dataSync()[slot]);
    return {
      pc: get(s.pc), ptr: get(s.ptr), end: get(s.end), gen: get(s.gen), trig: get(s.trigRow) / this.program.trigger.columns,
      esc: get(s.esc), phase: get(s.phase), ready: get(s.ready), done: get(s.done), counters: s.counters.arraySync()[slot]!,
      cstate: get(s.cstate),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const { events, ...vectors } = this.vectors;
    [
      ...Object.values(this.columns), ...Object.values(vectors), ...Object.values(events), ...Object.values(this.state),
      this.triggerNextRow, this.triggerMatch, ...(this.constraintNextFlat ? [this.constraintNextFlat] : []), this.constraintColumns, this.counterBase, this.toolStart, this.memoryLast, this.toolEnd,
      this.toolEmpty, this.toolNonEmpty, this.phaseAfterToolStart, this.forcedMemory,
    ].forEach((x) => x.dispose());
  }

  private uploadForcedMemory(): tf.Tensor1D {
    const F = this.program.forcedTokens.length;
    const memory = new Int32Array(F + this.hostTool.length);
    memory.set(this.program.forcedTokens);
    memory.set(this.hostTool, F);
    return tf.tensor1d(memory, "int32");
  }

  /** Overwrite some fields of one slot (host-side bookkeeping, outside the step). */
  private updateSlot(slot: number, values: Partial<Record<Exclude<keyof StreamState, "counters">, number>>, counters?: Int32Array): void {
    const next = tf.tidy(() => {
      const mask = tf.equal(tf.range(0, this.batch, 1, "int32"), tf.scalar(slot, "int32")); // oneHot needs depth ≥ 2: fails at batch 1
      const updated: Partial<StreamState> = {};
      for (const [key, value] of Object.entries(values) as Array<[Exclude<keyof StreamState, "counters">, number]>) {
        const old = this.state[key];
        // The wasm Select kernel copies 4-byte elements, so bool fields are updated with logical ops.
        updated[key] = (BOOL_FIELDS.has(key)
          ? value ? tf.logicalOr(old, mask) : tf.logicalAnd(old, tf.logicalNot(mask))
          : tf.where(mask, tf.fill([this.batch], value, "int32"), old)) as tf.Tensor1D;
      }
      if (counters) {
        const rows = tf.tile(tf.tensor2d(counters, [1, counters.length], "int32"), [this.batch, 1]);
        updated.counters = tf.where(tf.tile(mask.reshape([this.batch, 1]), [1, counters.length]), rows, this.state.counters) as tf.Tensor2D;
      }
      return updated as tf.NamedTensorMap;
    }) as Partial<StreamState>;
    this.replaceState({ ...this.state, ...next });
  }

  /** Install the next state and dispose the old one (except `keep`, handed to the caller). */
  private replaceState(next: StreamState, keep?: tf.Tensor): void {
    const old = this.state;
    this.state = next;
    for (const key of Object.keys(old) as Array<keyof StreamState>)
      if (old[key] !== next[key] && old[key] !== keep) old[key].dispose();
  }

  private checkSlot(slot: number): void {
    if (this.disposed) throw new TtfaError("this TensorAutomaton was disposed");
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.batch)
      throw new TtfaError(`slot ${slot} is outside the batch (0..${this.batch - 1})`);
  }
}
