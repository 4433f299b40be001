/**
 * Choice scores (docs/automaton.md#choice-scores): for every visit of a `choices` zone, the
 * model's probability of each choice, recorded beside the step so that a "select" is
 * measured, not only sampled.
 *
 * What is exact and what is not — no extra forward rows are run (the loop decodes one row per
 * stream), so each probability is one of two kinds, named in `basis`:
 * - `"path"` — the choice the stream walked: the exact probability of the token path it
 *   actually took, Π p(token | prefix) over its generated tokens up to the one that
 *   completes the choice's text. The choice's full probability sums this over all its
 *   tokenizations the mask allows, so this is a lower bound of it (equal when the tokenizer
 *   admits one path, e.g. a choice that is a single token);
 * - `"first_token"` — every other choice: the mass of the first tokens the mask allows that
 *   are consistent with it, Σ p(v) at the visit's first generated step over allowed v whose
 *   bytes are a prefix of choice·end. It is an upper bound of the choice's probability (the
 *   continuation is not scored). A token consistent with several choices counts for each.
 * p is the model's distribution: softmax of the raw logits row (temperature 1, unmasked), as
 * the log-probability instrument reports it. A visit that ends without spelling a whole
 * choice (a timeout, or a forbidden token that abandoned the constraint) records
 * `choice: null` and first-token masses for all.
 *
 * The engine shows the scorer every step with a forward: the logits rows, each slot's
 * constraint state before the step (what masked its row) and its trace length, and the
 * records the step produced. A visit is "the n-th visit of the zone that generated tokens".
 */
import { allowedList } from "./mask.js";
import { TtfaEvent, type StepRecord, type TtfaProgram } from "./types.js";
import type { ChoiceRecord } from "../run/types.js";

export type { ChoiceRecord };

/** The subset of the engine's step observation the scorer reads (forge/engine/batch/step-record.ts). */
export interface ChoiceStepView {
  logits: { shape: number[]; dataSync(): ArrayLike<number> } | null;
  rows: Int32Array;
  instance: Int32Array;
  /** Per slot: the stream's index in the request, when known; unlike the instance it is unique (a replay may run one instance twice). */
  stream?: ArrayLike<number>;
  records: StepRecord[][];
  /** Per slot: its constraint state before the step (0 = free). */
  constraintStates: ArrayLike<number>;
  /** Per slot: its trace length before the step (the index of its first record here). */
  positions: ArrayLike<number>;
}

interface SlotState {
  instance: number;
  /** The stream's index in the request (−1 unknown): a refilled slot starts afresh even on the same instance. */
  stream: number;
  /** Generating visits per zone so far. */
  visits: Map<number, number>;
  /** The visit in progress of a choices zone, or null. */
  visit: null | {
    zone: number;
    step: number;
    first: number[] | null;
    bytes: number[];
    /** Cumulative log-probability after each generated token, and the byte count then. */
    logp: number[];
    ends: number[];
  };
}

const MOVE = TtfaEvent.ADVANCE | TtfaEvent.JUMP | TtfaEvent.FORCED_EXIT;

export class ChoiceScorer {
  readonly records: ChoiceRecord[] = [];
  private readonly slots = new Map<number, SlotState>();
  private readonly choiceBytes: Array<Uint8Array[] | null>;
  private readonly endBytes: Array<Uint8Array[] | null>;
  /** Per (constraint index, state): for each allowed token, the choices its bytes are consistent with. */
  private readonly firstChoices = new Map<string, Int32Array[]>();
  private readonly enc = new TextEncoder();

  constructor(
    readonly program: TtfaProgram,
    private readonly tokenBytes: (id: number) => Uint8Array,
  ) {
    const infos = program.constraints.constraints;
    this.choiceBytes = infos.map((c) => (c.constraint.kind === "choices" ? c.constraint.choices.map((s) => this.enc.encode(s)) : null));
    this.endBytes = infos.map((c) => (c.constraint.kind === "choices" ? c.ends.map((s) => this.enc.encode(s)) : null));
  }

  /** Whether the program has any choices zone (else the engine need not attach the scorer). */
  static wanted(program: TtfaProgram): boolean {
    return program.constraints.constraints.some((c) => c.constraint.kind === "choices");
  }

  onStep(view: ChoiceStepView): void {
    const p = this.program;
    let rowsData: ArrayLike<number> | null = null;
    const width = view.logits ? view.logits.shape[1]! : 0;
    const rowOf = new Map<number, number>();
    view.rows.forEach((slot, r) => rowOf.set(slot, r));
    view.records.forEach((records, slot) => {
      if (records.length === 0) return;
      const instance = view.instance[slot]!;
      const stream = view.stream?.[slot] ?? -1;
      let s = this.slots.get(slot);
      if (!s || s.instance !== instance || s.stream !== stream) {
        s = { instance, stream, visits: new Map(), visit: null };
        this.slots.set(slot, s);
      }
      let position = view.positions[slot]!;
      records.forEach((rec, k) => {
        if (!rec.record) return;
        const zone = rec.pc;
        const c = zone < p.zoneCount ? p.constraintIndex[zone]! : -1;
        // Only the batch step's own record (k = 0) was sampled from a row, in the state given.
        const cstate = k === 0 ? view.constraintStates[slot]! : 0;
        const scored = c >= 0 && this.choiceBytes[c] !== null && cstate !== 0 && !rec.forced;
        if (scored) {
          // The row this token was sampled from: only the batch step's own record (k = 0) has one.
          const r = k === 0 ? rowOf.get(slot) : undefined;
          if (!s!.visit || s!.visit.zone !== zone) s!.visit = { zone, step: position, first: null, bytes: [], logp: [], ends: [] };
          const v = s!.visit;
          let logp = NaN;
          if (r !== undefined && view.logits) {
            rowsData ??= view.logits.dataSync();
            const row = r * width;
            let max = -Infinity;
            for (let i = 0; i < width; i++) if (rowsData[row + i]! > max) max = rowsData[row + i]!;
            let sum = 0;
            for (let i = 0; i < width; i++) sum += Math.exp(rowsData[row + i]! - max);
            const lse = max + Math.log(sum);
            if (v.first === null) v.first = this.firstMass(c, cstate, rowsData, row, width, lse);
            logp = rec.token < width ? rowsData[row + rec.token]! - lse : -Infinity;
          }
          const prev = v.logp.length ? v.logp[v.logp.length - 1]! : 0;
          v.logp.push(prev + logp);
          for (const b of this.tokenBytes(rec.token)) v.bytes.push(b);
          v.ends.push(v.bytes.length);
        }
        if (rec.event & MOVE) {
          if (s!.visit && s!.visit.zone === zone) {
            const visit = s!.visits.get(zone) ?? 0;
            s!.visits.set(zone, visit + 1);
            this.finish(s!, instance, visit);
          }
          s!.visit = null;
        }
        position++;
      });
    });
  }

  /** Σ p(v) over the allowed tokens at `state` consistent with each choice. */
  private firstMass(c: number, state: number, data: ArrayLike<number>, row: number, width: number, lse: number): number[] {
    const key = `${c}:${state}`;
    const allowed = allowedList(this.program.constraints, state);
    let lists = this.firstChoices.get(key);
    if (!lists) {
      const choices = this.choiceBytes[c]!;
      const ends = this.endBytes[c]!;
      lists = Array.from(allowed, (t) => {
        const bytes = this.tokenBytes(t);
        const out: number[] = [];
        choices.forEach((ch, i) => {
          if (ends.some((e) => prefixOfConcat(bytes, ch, e))) out.push(i);
        });
        return Int32Array.from(out);
      });
      this.firstChoices.set(key, lists);
    }
    const mass = new Array<number>(this.choiceBytes[c]!.length).fill(0);
    allowed.forEach((t, k) => {
      if (t >= width) return;
      const pv = Math.exp(data[row + t]! - lse);
      for (const i of lists![k]!) mass[i]! += pv;
    });
    return mass;
  }

  private finish(s: SlotState, instance: number, visit: number): void {
    const v = s.visit!;
    const p = this.program;
    const c = p.constraintIndex[v.zone]!;
    const choices = this.choiceBytes[c]!;
    const ends = this.endBytes[c]!;
    // The choice spelled: the text is choice · end exactly.
    let choice: number | null = null;
    choices.forEach((ch, i) => {
      if (choice === null && ends.some((e) => v.bytes.length === ch.length + e.length && startsWith(v.bytes, ch, 0) && startsWith(v.bytes, e, ch.length))) choice = i;
    });
    const first = v.first ?? new Array<number>(choices.length).fill(NaN);
    const probabilities = first.slice();
    const basis: Array<"path" | "first_token"> = first.map(() => "first_token");
    if (choice !== null) {
      const need = choices[choice]!.length;
      const k = v.ends.findIndex((n) => n >= need);
      probabilities[choice] = Math.exp(v.logp[k]!);
      basis[choice] = "path";
    }
    this.records.push({ instance, zoneId: v.zone, visit, step: v.step, choice, probabilities, basis });
  }
}

function startsWith(bytes: number[], prefix: Uint8Array, at: number): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/** Whether `token` is a prefix of a · b. */
function prefixOfConcat(token: Uint8Array, a: Uint8Array, b: Uint8Array): boolean {
  if (token.length > a.length + b.length) return false;
  for (let i = 0; i < token.length; i++) if (token[i] !== (i < a.length ? a[i] : b[i - a.length])) return false;
  return true;
}
