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
 * The scorer follows each slot's constraint state from the records it is shown (the same
 * rule as the automata: generated tokens walk the table, entering a zone starts its
 * constraint), so it needs nothing from the automaton but the step records.
 */
import { allowedList } from "./mask.js";
import { constraintNext } from "./constraint.js";
import { TtfaEvent, type StepRecord, type TtfaProgram } from "./types.js";

/** One scored visit of a choices zone (Run `choices`). */
export interface ChoiceRecord {
  instance: number;
  /** Program zone id (SZCP zone index). */
  zoneId: number;
  /** Which visit of that zone in the stream, from 0. */
  visit: number;
  /** The stream's step (index into its trace) of the visit's first generated token. */
  step: number;
  /** Index into the zone's choices of the one the stream spelled, or null. */
  choice: number | null;
  /** Per choice, in the zone's order (see `basis`). */
  probabilities: number[];
  /** Per choice: "path" (exact probability of the path walked) or "first_token" (allowed first-token mass). */
  basis: Array<"path" | "first_token">;
}

/** The subset of the engine's step observation the scorer reads (forge/engine/batch/step-record.ts). */
export interface ChoiceStepView {
  logits: { shape: number[]; dataSync(): ArrayLike<number> } | null;
  rows: Int32Array;
  instance: Int32Array;
  records: StepRecord[][];
}

interface SlotState {
  instance: number;
  /** Constraint state before the slot's next record. */
  cstate: number;
  /** Recorded steps of the stream so far. */
  position: number;
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
      let s = this.slots.get(slot);
      if (!s || s.instance !== instance) {
        s = { instance, cstate: p.zoneCount > 0 ? p.constraintStart[0]! : 0, position: 0, visits: new Map(), visit: null };
        this.slots.set(slot, s);
      }
      records.forEach((rec, k) => {
        if (!rec.record) return;
        const zone = rec.pc;
        const c = zone < p.zoneCount ? p.constraintIndex[zone]! : -1;
        const scored = c >= 0 && this.choiceBytes[c] !== null && s!.cstate !== 0 && !rec.forced;
        if (scored) {
          // The row this token was sampled from: only the batch step's own record (k = 0) has one.
          const r = k === 0 ? rowOf.get(slot) : undefined;
          if (!s!.visit || s!.visit.zone !== zone) s!.visit = { zone, step: s!.position, first: null, bytes: [], logp: [], ends: [] };
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
            if (v.first === null) v.first = this.firstMass(c, s!.cstate, rowsData, row, width, lse);
            logp = rec.token < width ? rowsData[row + rec.token]! - lse : -Infinity;
          }
          const prev = v.logp.length ? v.logp[v.logp.length - 1]! : 0;
          v.logp.push(prev + logp);
          for (const b of this.tokenBytes(rec.token)) v.bytes.push(b);
          v.ends.push(v.bytes.length);
        }
        // Constraint state: as the automata do it.
        if (!rec.forced) s!.cstate = constraintNext(p.constraints, s!.cstate, rec.token);
        if (rec.event & MOVE) {
          const visit = s!.visits.get(zone) ?? 0;
          s!.visits.set(zone, visit + 1);
          if (s!.visit && s!.visit.zone === zone) this.finish(s!, instance, visit);
          s!.visit = null;
          s!.cstate = rec.nextPc < p.zoneCount ? p.constraintStart[rec.nextPc]! : 0;
        }
        s!.position++;
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
