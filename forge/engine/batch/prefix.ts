/**
 * The shared prefix (issue 10): every stream of a request starts in zone 0 with the same
 * forced text, and the automaton is deterministic until it first needs a sampled token. So
 * the steps up to there are the same for every stream — run them once on a probe interpreter
 * and their tokens' K/V once at batch 1 (forge/model/prefill.ts), then give both to every slot.
 */
import { ReferenceInterpreter, TtfaEvent, type StepRecord, type TtfaProgram } from "../../ttfa/index.js";

/** Steps that end the prefix: anything the engine must act on, or that waits on the host. */
const STOPPING_EVENTS = TtfaEvent.CAPTURE | TtfaEvent.HELD | TtfaEvent.PAD | TtfaEvent.TOOL_RESULT;

export interface SharedPrefix {
  /** The automaton's records of steps 0..P−1, identical for every stream (all forced, all recorded). */
  steps: StepRecord[];
  /** Their tokens, in order. */
  tokens: Int32Array;
}

/**
 * The longest run of steps from the start that every stream takes identically: forced,
 * recorded, not done, no capture or tool event. At most `limit` steps (a stream must not hit
 * its token cap inside the prefix: the engine's truncation check runs after it).
 */
export function sharedPrefix(program: TtfaProgram, limit: number): SharedPrefix {
  const probe = new ReferenceInterpreter(program);
  const steps: StepRecord[] = [];
  while (steps.length < limit) {
    // The probe stops before the first step that would read its sampled token, so the value
    // passed (padding) is never used by a step that is kept.
    const record = probe.step(program.padId);
    if (!record.forced || !record.record || record.done || record.event & STOPPING_EVENTS) break;
    steps.push(record);
  }
  return { steps, tokens: Int32Array.from(steps, (s) => s.token) };
}

/** The shared prefix a run uses: its P steps, of which the first P − 1 tokens' K/V are the cache's pinned prefix. */
export interface PrefixPlan {
  /** P: steps every stream takes identically from the start. */
  steps: number;
  /** P − 1: the tokens fed before the first sampled token, whose K/V are computed once (cache positions 0..P−2). */
  pinned: number;
  tokens: Int32Array;
  /** The prefix's last token: every stream's first input after it. */
  lastToken: number;
}

/**
 * The plan for a request with streams of at most `maxTokens` tokens, or null: prefill off, or
 * a prefix too short to pin anything (fewer than 2 steps).
 */
export function planSharedPrefix(program: TtfaProgram, enabled: boolean, maxTokens: number): PrefixPlan | null {
  if (!enabled) return null;
  const prefix = sharedPrefix(program, maxTokens - 1);
  const P = prefix.steps.length;
  if (P < 2) return null;
  return { steps: P, pinned: P - 1, tokens: prefix.tokens, lastToken: prefix.tokens[P - 1]! };
}
