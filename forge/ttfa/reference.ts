/**
 * Reference interpreter of the automaton step (docs/automaton.md#the-step, #three-implementations): one stream, plain
 * TypeScript, written for clarity. It is the oracle: the tensor automaton must produce
 * the same per-step outputs bit for bit (test/forge/ttfa/differential.test.ts).
 *
 * State per stream: pc; a forced run [feedPtr, feedEnd) into the forced memory (the
 * program's forcedTokens followed by the stream's tool buffer); genCount (tokens generated
 * in this zone); trigState; escape (0/1); counters[] (one per loop); toolPhase (feed zones:
 * 0 tool output not consumed yet, 1 tool tokens being forced, 2 advance pattern injected);
 * toolReady (an output arrived and was not consumed); done.
 *
 * One step, given the sampled token:
 *  0. Done: emit padId, nothing changes (event PAD, not recorded).
 *  1. Timeout: if the forced run is exhausted and genCount >= maxGen[pc]: start a forced run
 *     of the zone's tokenized advance pattern, clear escape, reset trigState to the root
 *     (so a half-generated pattern cannot combine with the injected bytes), event TIMEOUT.
 *  2. Tool input (feed zones, forced run exhausted, no timeout):
 *     toolPhase 0, output ready: force the tool tokens (toolPhase 1, toolReady 0, event
 *       TOOL_RESULT); an empty output goes straight to the advance pattern (toolPhase 2).
 *     toolPhase 0, not ready: HOLD — emit padId, change nothing, event HELD (not recorded).
 *     toolPhase 1: the tool tokens are exhausted: force the advance pattern (toolPhase 2).
 *     toolPhase 2: nothing more to feed; the zone generates (and times out) like any other.
 *  3. Feed: if a forced run is active, emit its next token (forced = 1).
 *  4. Otherwise the sampled token passes through (forced = 0, genCount += 1), and advances
 *     the constraint state (constraint.ts: a token the state does not allow — which masked
 *     sampling never picks — abandons the constraint, state 0). Forced tokens leave it alone.
 *  5. Triggers: the emitted token's bytes advance the trigger automaton (table lookup:
 *     next state and first match; a token's bytes after a match continue from the root;
 *     token ids outside the vocabulary have no bytes). On a match m:
 *     - pair escape: open → escape = 1; close → escape = 0 (both whatever escape was).
 *       single escape token: escape = 1 - escape (an escaped escape is consumed).
 *     - any other match while escape = 1: ignored; a single escape is cleared by it, a pair
 *       stays open. An escaped control pattern at a jump site is reported as IGNORED_JUMP.
 *     - m = advance[pc]: at a loop head whose counter - 1 >= max (max != -1): forced exit to
 *       jump[pc], counter reset to 0, FORCED_EXIT; else move to next[pc], ADVANCE.
 *     - m = control at a jump site: at a loop head with counter - 1 < min (min != -1):
 *       IGNORED_JUMP; else move to jump[pc] (counter reset at a loop head), JUMP.
 *     - anything else: ignored.
 *     Leaving a capture zone by any move adds CAPTURE.
 *     Moving to zone z: genCount = 0, toolPhase = 0, constraint state = z's start state, the forced run becomes z's prompt
 *     (the rest of the old run is dropped), counters[counter[z]] += 1 when z is a loop head
 *     (so counter - 1 = body iterations completed); z = Z (END) → done. The stream starts
 *     by entering zone 0 (an entry).
 *  6. Record: token, pc before the move, forced, event bits, pc after (nextPc), done.
 *
 * Decisions where the issue left room: escaped control → IGNORED_JUMP (TraceEventKind says
 * so); timeout also resets trigState; a token reports only its first match; the tool buffer
 * holds the stream's latest tool output, whatever tool produced it, and is consumed once.
 */
import { StreamTraceBuilder } from "./trace.js";
import { TtfaError } from "./errors.js";
import { triggerColumn } from "./trigger.js";
import { constraintNext } from "./constraint.js";
import { TtfaEvent, type StepRecord, type TtfaProgram } from "./types.js";
import type { StreamTrace } from "../run/types.js";

/** Default capacity of a stream's tool-output buffer, in tokens. */
export const DEFAULT_MAX_TOOL_TOKENS = 1024;

export interface InterpreterOptions {
  /** Capacity of the tool-output buffer (setToolOutput with more tokens throws). */
  maxToolTokens?: number;
}

/** Read-only view of an interpreter's state (for scripted token streams and tests). */
export interface InterpreterState {
  readonly pc: number;
  readonly feedPtr: number;
  readonly feedEnd: number;
  readonly genCount: number;
  readonly trigState: number;
  readonly escape: number;
  readonly counters: Int32Array;
  readonly toolPhase: number;
  readonly toolReady: number;
  readonly done: boolean;
  /** Constraint state (0 = free): the row of program.constraints that masks the next sampled token. */
  readonly constraintState: number;
}

export class ReferenceInterpreter implements InterpreterState {
  pc = 0;
  feedPtr = 0;
  feedEnd = 0;
  genCount = 0;
  trigState = 0;
  escape = 0;
  toolPhase = 0;
  toolReady = 0;
  done = false;
  constraintState = 0;
  readonly counters: Int32Array;
  /** Forced memory: program.forcedTokens, then this stream's tool buffer. */
  private readonly memory: Int32Array;
  private readonly toolBase: number;
  private toolLength = 0;
  readonly maxToolTokens: number;

  constructor(readonly program: TtfaProgram, options: InterpreterOptions = {}) {
    this.maxToolTokens = options.maxToolTokens ?? DEFAULT_MAX_TOOL_TOKENS;
    this.toolBase = program.forcedTokens.length;
    this.memory = new Int32Array(this.toolBase + this.maxToolTokens).fill(program.padId);
    this.memory.set(program.forcedTokens);
    this.counters = new Int32Array(Math.max(program.counterCount, 1));
    this.enter(0);
  }

  /** The tool's output for this stream (tokenized); a feed zone consumes it. */
  setToolOutput(tokens: ArrayLike<number>): void {
    if (tokens.length > this.maxToolTokens)
      throw new TtfaError(`tool output has ${tokens.length} tokens; the buffer holds ${this.maxToolTokens}`);
    this.memory.fill(this.program.padId, this.toolBase);
    this.memory.set(Array.from(tokens), this.toolBase);
    this.toolLength = tokens.length;
    this.toolReady = 1;
  }

  /** Mark the stream done (truncation, interruption). */
  stop(): void {
    this.done = true;
  }

  step(sampled: number): StepRecord {
    const p = this.program;
    const Z = p.zoneCount;
    if (this.done) return { token: p.padId, pc: this.pc, forced: 0, event: TtfaEvent.PAD, nextPc: this.pc, done: 1, record: 0 };
    const pc = this.pc;
    let event = 0;

    // 1-2. Timeout, then tool input: both may start a new forced run.
    const runExhausted = this.feedPtr >= this.feedEnd;
    if (runExhausted && this.genCount >= p.maxGen[pc]!) {
      this.feedPtr = p.advanceStart[pc]!;
      this.feedEnd = p.advanceEnd[pc]!;
      this.escape = 0;
      this.trigState = 0;
      event |= TtfaEvent.TIMEOUT;
    } else if (runExhausted && p.feed[pc]! >= 0 && this.toolPhase === 0) {
      if (!this.toolReady)
        return { token: p.padId, pc, forced: 0, event: TtfaEvent.HELD, nextPc: pc, done: 0, record: 0 };
      this.toolReady = 0;
      event |= TtfaEvent.TOOL_RESULT;
      if (this.toolLength > 0) {
        this.feedPtr = this.toolBase;
        this.feedEnd = this.toolBase + this.toolLength;
        this.toolPhase = 1;
      } else {
        this.feedPtr = p.advanceStart[pc]!;
        this.feedEnd = p.advanceEnd[pc]!;
        this.toolPhase = 2;
      }
    } else if (runExhausted && p.feed[pc]! >= 0 && this.toolPhase === 1) {
      this.feedPtr = p.advanceStart[pc]!;
      this.feedEnd = p.advanceEnd[pc]!;
      this.toolPhase = 2;
    }

    // 3-4. Feed or pass through.
    let token: number;
    let forced: number;
    if (this.feedPtr < this.feedEnd) {
      token = this.memory[this.feedPtr++]!;
      forced = 1;
    } else {
      token = sampled;
      forced = 0;
      this.genCount += 1;
      this.constraintState = constraintNext(p.constraints, this.constraintState, token);
    }

    // 5. Triggers.
    const table = p.trigger;
    const cell = this.trigState * table.columns + triggerColumn(table, token);
    this.trigState = table.next[cell]!;
    const m = table.match[cell]!;
    let target = -1;
    if (m >= 0) {
      const escaped = this.escape === 1;
      if (m === p.escapeOpen) this.escape = 1;
      else if (m === p.escapeClose) this.escape = 0;
      else if (m === p.escapeSingle) this.escape = 1 - this.escape;
      else if (escaped) {
        if (p.escapeSingle >= 0) this.escape = 0;
        if (m === p.control && p.jump[pc]! >= 0) event |= TtfaEvent.IGNORED_JUMP;
      } else {
        const c = p.counter[pc]!;
        const iterations = c >= 0 ? this.counters[c]! - 1 : 0;
        if (m === p.advance[pc]) {
          if (c >= 0 && p.max[pc]! >= 0 && iterations >= p.max[pc]!) {
            target = p.jump[pc]!;
            this.counters[c] = 0;
            event |= TtfaEvent.FORCED_EXIT;
          } else {
            target = p.next[pc]!;
            event |= TtfaEvent.ADVANCE;
          }
        } else if (m === p.control && p.jump[pc]! >= 0) {
          if (c >= 0 && p.min[pc]! >= 0 && iterations < p.min[pc]!) event |= TtfaEvent.IGNORED_JUMP;
          else {
            target = p.jump[pc]!;
            if (c >= 0) this.counters[c] = 0;
            event |= TtfaEvent.JUMP;
          }
        }
      }
    }
    if (target >= 0) {
      if (p.capture[pc]! >= 0) event |= TtfaEvent.CAPTURE;
      this.enter(target);
    }
    return { token, pc, forced, event, nextPc: this.pc, done: this.done ? 1 : 0, record: 1 };
  }

  private enter(zone: number): void {
    const p = this.program;
    this.pc = zone;
    this.genCount = 0;
    this.toolPhase = 0;
    this.constraintState = zone < p.zoneCount ? p.constraintStart[zone]! : 0;
    if (zone >= p.zoneCount) {
      this.done = true;
      this.feedPtr = this.feedEnd = 0;
      return;
    }
    this.feedPtr = p.feedStart[zone]!;
    this.feedEnd = p.feedEnd[zone]!;
    const c = p.counter[zone]!;
    if (c >= 0) this.counters[c]! += 1;
  }
}

/** A capture as the scripted runner reports it; return the tool's tokens and the delay (in the stream's steps, ≥ 1) before they arrive, or null for no output. */
export type ScriptedTool = (capture: {
  tool: number;
  zone: number;
  tokens: Int32Array;
  /** The stream's own step index (held steps included) of the step that ended the zone. */
  step: number;
}) => { tokens: number[]; delay: number } | null;

export interface ScriptedRunOptions extends InterpreterOptions {
  instance?: number;
  tool?: ScriptedTool;
}

/**
 * Run one stream with scripted sampled tokens: nextToken(position, state) gives the token
 * "sampled" for the stream's next recorded position. The run ends when the stream is done
 * or after maxSteps steps of its own (held steps included): status "truncated".
 */
export function runScripted(
  program: TtfaProgram,
  nextToken: (step: number, state: InterpreterState) => number,
  maxSteps: number,
  options: ScriptedRunOptions = {},
): StreamTrace {
  const interpreter = new ReferenceInterpreter(program, options);
  const trace = new StreamTraceBuilder(program.zoneCount);
  const pending: Array<{ at: number; tokens: number[] }> = [];
  const tokens: number[] = [];
  const pcs: number[] = [];
  for (let own = 0; own < maxSteps && !interpreter.done; own++) {
    for (let i = 0; i < pending.length; ) {
      if (pending[i]!.at <= own) {
        interpreter.setToolOutput(pending[i]!.tokens);
        pending.splice(i, 1);
      } else i++;
    }
    const r = interpreter.step(nextToken(trace.length, interpreter));
    trace.push(r.token, r.pc, r.forced, r.event, r.nextPc, r.done, r.record);
    if (!r.record) continue;
    tokens.push(r.token);
    pcs.push(r.pc);
    if (r.event & TtfaEvent.CAPTURE && options.tool) {
      const output = options.tool({ tool: program.capture[r.pc]!, zone: r.pc, tokens: segmentTokens(tokens, pcs), step: own });
      if (output) pending.push({ at: own + Math.max(1, output.delay), tokens: output.tokens });
    }
  }
  return trace.build(options.instance ?? 0);
}

/** The tokens of the trailing run of steps spent in the last step's zone (what a capture sends). */
export function segmentTokens(tokens: ArrayLike<number>, pcs: ArrayLike<number>): Int32Array {
  const end = pcs.length;
  let start = end - 1;
  while (start > 0 && pcs[start - 1] === pcs[end - 1]) start--;
  return Int32Array.from(Array.prototype.slice.call(tokens, start, end) as number[]);
}
