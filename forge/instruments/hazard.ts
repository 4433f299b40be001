/**
 * The jump hazard: at a generated step inside a jump site, the probability mass (under the
 * model's distribution) on tokens that move the stream toward its control pattern — tokens
 * after which the trigger automaton stands further along the pattern than before, or that
 * complete it. Summed over a zone visit's steps it shows where a decision was made (a
 * stream that jumps at its third token had hazard ≈ 0 before and ≈ 1 at that step).
 *
 * "Further along" is measured on the pattern's own trie path: the state reached by its first
 * k bytes has progress k; any other state has progress 0. A token that fires the pattern
 * counts whatever state it ends in. Other patterns (escapes, advance patterns) do not count.
 */
import { triggerColumn } from "../ttfa/trigger.js";
import type { TriggerTable } from "../ttfa/types.js";
import { InstrumentError } from "./errors.js";

/** Progress of every trigger state along one pattern (0 off its path). */
export interface PatternProgress {
  pattern: number;
  progress: Int32Array;
}

export function patternProgress(table: TriggerTable, pattern: number): PatternProgress {
  const text = table.patterns[pattern];
  if (text === undefined) throw new InstrumentError(`pattern ${pattern} is not in the trigger table (${table.patterns.length} patterns)`);
  const progress = new Int32Array(table.stateCount);
  const bytes = new TextEncoder().encode(text);
  let state = 0;
  for (let k = 0; k < bytes.length; k++) {
    state = table.bytes.delta[state * 256 + bytes[k]!]!;
    // A state on the path keeps its first (shortest) progress: states are trie nodes, so each appears once.
    if (progress[state] === 0) progress[state] = k + 1;
  }
  return { pattern, progress };
}

/** Whether trigger-table cell `cell`, taken from a state of progress `here`, fires the pattern or moves further along it. */
function advancesCell(table: TriggerTable, path: PatternProgress, cell: number, here: number): boolean {
  return table.match[cell] === path.pattern || path.progress[table.next[cell]!]! > here;
}

/** Whether `token` moves the stream along (or fires) the pattern from trigger state `state`. */
export function advancesPattern(table: TriggerTable, path: PatternProgress, state: number, token: number): boolean {
  return advancesCell(table, path, state * table.columns + triggerColumn(table, token), path.progress[state]!);
}

/**
 * Hazard of one logits row: Σ p(token) over tokens that advance or fire `path.pattern` from
 * trigger state `state`. `lse` is the row's log-sum-exp (from the logprob pass), so the row
 * is read once more, not twice.
 */
export function jumpHazard(logits: Float32Array, offset: number, table: TriggerTable, path: PatternProgress, state: number, lse: number): number {
  const vocab = table.vocabSize;
  const base = state * table.columns;
  const here = path.progress[state]!;
  let mass = 0;
  for (let c = 0; c < vocab; c++) {
    if (advancesCell(table, path, base + c, here)) mass += Math.exp(logits[offset + c]! - lse);
  }
  return mass;
}
