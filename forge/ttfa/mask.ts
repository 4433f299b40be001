/**
 * Applying constraint masks to logits (docs/automaton.md#constrained-zones): before a step's
 * sampling, every row whose stream is in a constrained state gets −∞ on the tokens that
 * state does not allow; rows of free streams (state 0) are left untouched, bit for bit, so
 * the seeded sampler draws exactly what it drew before constraints existed.
 *
 * Two forms: `maskLogitsInPlace` on a host Float32Array (one fill and a scatter of the
 * allowed entries per constrained row), and `maskLogitsTensor` on a tfjs tensor (one gather
 * of [S, W] bias rows — 0 or −∞ — by the states, and one add: nothing leaves the device).
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

/** Draws one token from `row` (its first `width` values are the logits), for logits row `rowIndex`: the engine's seeded sampler on one row. */
export type RowDraw = (row: Float32Array, width: number, rowIndex: number) => number;

const compactScratch = { values: new Float32Array(256), row: new Float32Array(0) };

/**
 * Masked sampling on host logits without touching them: for every row r of `logits` ([R,
 * width], row-major) whose state is constrained, draw its token among the allowed ones and
 * write it to tokens[r]; free rows are left as the caller sampled them. Returns the rows drawn.
 *
 * A state allowing at most half the columns is drawn from a compact row holding only the
 * allowed tokens' logits, in id order: −∞ entries carry no mass, so temperature, top-k and
 * top-p give the masked distribution, and the cost is O(allowed) instead of O(vocabulary) —
 * a choices or a digits regex costs well under a µs per stream-step at any vocabulary size.
 * Broader states copy the row and mask it (O(vocabulary)).
 */
export function drawConstrained(logits: Float32Array, width: number, states: ArrayLike<number>, table: ConstraintTable, draw: RowDraw, tokens: Int32Array): number {
  let drawn = 0;
  for (let r = 0; r < states.length; r++) {
    const state = states[r]!;
    if (state === 0) continue;
    if (state < 0 || state >= table.stateCount) throw new TtfaError(`constraint state ${state} is outside the table (0..${table.stateCount - 1})`);
    const allowed = allowedList(table, state);
    let n = allowed.length;
    while (n > 0 && allowed[n - 1]! >= width) n--; // ascending: columns past the logits' width are never allowed
    const base = r * width;
    if (n * 2 <= width) {
      if (compactScratch.values.length < n) compactScratch.values = new Float32Array(n);
      const values = compactScratch.values;
      for (let k = 0; k < n; k++) values[k] = logits[base + allowed[k]!]!;
      tokens[r] = allowed[draw(values.subarray(0, n), n, r)]!;
    } else {
      if (compactScratch.row.length < width) compactScratch.row = new Float32Array(width);
      const row = compactScratch.row.subarray(0, width);
      row.set(logits.subarray(base, base + width));
      maskLogitsInPlace(row, width, [state], table);
      tokens[r] = draw(row, width, r);
    }
    drawn++;
  }
  return drawn;
}

/** [S, width] float32 biases (0 allowed, −∞ not) per (table, width), on the current tfjs backend; kept while the table lives. */
const maskTensors = new WeakMap<ConstraintTable, Map<number, tf.Tensor2D>>();

export function constraintMaskTensor(table: ConstraintTable, width: number): tf.Tensor2D {
  let byWidth = maskTensors.get(table);
  if (!byWidth) maskTensors.set(table, (byWidth = new Map()));
  let mask = byWidth.get(width);
  if (!mask || mask.isDisposed) {
    const S = table.stateCount;
    const host = new Float32Array(S * width).fill(-Infinity);
    host.fill(0, 0, width); // state 0: free
    for (let s = 1; s < S; s++) {
      const base = s * table.columns;
      const limit = Math.min(width, table.columns - 1);
      for (let v = 0; v < limit; v++) if (table.next[base + v]! >= 0) host[s * width + v] = 0;
    }
    mask = tf.tensor2d(host, [S, width], "float32");
    tf.keep(mask);
    byWidth.set(width, mask);
  }
  return mask;
}

/**
 * What the sampler should draw from: a new [B, W] tensor with the constrained rows masked, or
 * null when no stream is constrained (then sample `logits` itself, untouched). `logits` is
 * left as it is, so per-step instruments still see the model's own distribution.
 *
 * On backends whose tensors live in host memory (wasm, cpu: `hostMemory`) the rows are masked
 * on a typed-array copy (one copy of the logits, then a fill and a scatter per constrained
 * row); elsewhere (GPU) with tensor ops on the device, `states` uploaded or given as a tensor.
 */
export function maskForSampling(logits: tf.Tensor2D, states: Int32Array | tf.Tensor1D, table: ConstraintTable, hostMemory: boolean): tf.Tensor2D | null {
  if (table.stateCount <= 1) return null;
  const [B, W] = logits.shape;
  if (states instanceof Int32Array) {
    if (!anyConstrained(states)) return null;
    if (hostMemory) {
      const data = Float32Array.from(logits.dataSync() as Float32Array);
      maskLogitsInPlace(data, W, states, table);
      return tf.tensor2d(data, [B, W], "float32");
    }
    const st = tf.tensor1d(states, "int32");
    try {
      return maskLogitsTensor(logits, st, table);
    } finally {
      st.dispose();
    }
  }
  return maskLogitsTensor(logits, states, table);
}

/** A new tensor: `logits` [B, W] with −∞ where the row's state (states [B], int32) forbids the token. */
export function maskLogitsTensor(logits: tf.Tensor2D, states: tf.Tensor1D, table: ConstraintTable): tf.Tensor2D {
  const [B, W] = logits.shape;
  if (states.shape[0] !== B) throw new TtfaError(`${states.shape[0]} constraint states for ${B} logits rows`);
  const mask = constraintMaskTensor(table, W);
  // One gather of bias rows and one add: x + 0 = x, so free rows keep their values.
  return tf.tidy(() => tf.add(logits, tf.gather(mask, states)) as tf.Tensor2D);
}
