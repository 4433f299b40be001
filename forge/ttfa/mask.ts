/**
 * Applying constraint masks to logits (docs/automaton.md#constrained-zones): before a step's
 * sampling, every row whose stream is in a constrained state gets −∞ on the tokens that
 * state does not allow; rows of free streams (state 0) are left untouched, bit for bit, so
 * the seeded sampler draws exactly what it drew before constraints existed.
 *
 * Two forms: `maskLogitsInPlace` on a host Float32Array (one fill and a scatter of the
 * allowed entries per constrained row), and `maskLogitsTensor` on a tfjs tensor (one gather
 * of a [S, W] bool mask by the states and one Select: nothing leaves the device).
 * Columns at or past the vocabulary (a model whose logits are wider than its tokenizer's
 * vocabulary) are never allowed in a constrained state.
 */
import * as tf from "@tensorflow/tfjs";
import { allowedTokens, type ConstraintTable } from "./constraint.js";
import { TtfaError } from "./errors.js";

/** Allowed-token lists per state, built on first use (a state's list is read at every step it is in). */
const allowedLists = new WeakMap<ConstraintTable, Array<Int32Array | undefined>>();

export function allowedList(table: ConstraintTable, state: number): Int32Array {
  let lists = allowedLists.get(table);
  if (!lists) allowedLists.set(table, (lists = new Array(table.stateCount)));
  return (lists[state] ??= allowedTokens(table, state));
}

/** Whether any of these states constrains its stream (the engine skips masking otherwise). */
export function anyConstrained(states: ArrayLike<number>): boolean {
  for (let i = 0; i < states.length; i++) if (states[i]! !== 0) return true;
  return false;
}

/**
 * Mask `logits` (rows × width, row-major) in place: row r gets −∞ outside `allowedList(states[r])`
 * when states[r] ≠ 0. Returns the number of rows masked.
 */
export function maskLogitsInPlace(logits: Float32Array, width: number, states: ArrayLike<number>, table: ConstraintTable): number {
  if (logits.length !== states.length * width) throw new TtfaError(`logits hold ${logits.length} values, expected ${states.length} rows × ${width}`);
  let masked = 0;
  let keep = new Float32Array(64);
  for (let r = 0; r < states.length; r++) {
    const state = states[r]!;
    if (state === 0) continue;
    if (state < 0 || state >= table.stateCount) throw new TtfaError(`constraint state ${state} is outside the table (0..${table.stateCount - 1})`);
    const allowed = allowedList(table, state);
    if (keep.length < allowed.length) keep = new Float32Array(allowed.length);
    const base = r * width;
    let n = 0;
    for (let k = 0; k < allowed.length; k++) if (allowed[k]! < width) keep[n++] = logits[base + allowed[k]!]!;
    logits.fill(-Infinity, base, base + width);
    n = 0;
    for (let k = 0; k < allowed.length; k++) if (allowed[k]! < width) logits[base + allowed[k]!] = keep[n++]!;
    masked++;
  }
  return masked;
}

/** [S, width] bool masks per (table, width), on the current tfjs backend; kept while the table lives. */
const maskTensors = new WeakMap<ConstraintTable, Map<number, tf.Tensor2D>>();

export function constraintMaskTensor(table: ConstraintTable, width: number): tf.Tensor2D {
  let byWidth = maskTensors.get(table);
  if (!byWidth) maskTensors.set(table, (byWidth = new Map()));
  let mask = byWidth.get(width);
  if (!mask || mask.isDisposed) {
    const S = table.stateCount;
    const host = new Uint8Array(S * width);
    host.fill(1, 0, width); // state 0: free
    for (let s = 1; s < S; s++) {
      const base = s * table.columns;
      const limit = Math.min(width, table.columns - 1);
      for (let v = 0; v < limit; v++) if (table.next[base + v]! >= 0) host[s * width + v] = 1;
    }
    mask = tf.tensor2d(host, [S, width], "bool");
    tf.keep(mask);
    byWidth.set(width, mask);
  }
  return mask;
}

/** A new tensor: `logits` [B, W] with −∞ where the row's state (states [B], int32) forbids the token. */
export function maskLogitsTensor(logits: tf.Tensor2D, states: tf.Tensor1D, table: ConstraintTable): tf.Tensor2D {
  const [B, W] = logits.shape;
  if (states.shape[0] !== B) throw new TtfaError(`${states.shape[0]} constraint states for ${B} logits rows`);
  const mask = constraintMaskTensor(table, W);
  return tf.tidy(() => {
    const rows = tf.gather(mask, states) as tf.Tensor2D;
    return tf.where(rows, logits, tf.fill([B, W], -Infinity, logits.dtype)) as tf.Tensor2D;
  });
}
