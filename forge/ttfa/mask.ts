/**
 * Applying constraint masks to logits (docs/automaton.md#constrained-zones): before a step's
 * sampling, every row whose stream is in a constrained state gets −∞ on the tokens that
 * state does not allow; rows of free streams (state 0) are left untouched, bit for bit, so
 * the seeded sampler draws exactly what it drew before constraints existed.
 *
 * Each state's mask takes the form its density calls for, built on first use: the ascending
 * list of allowed ids when a state allows at most half the row (a compact row of those
 * logits, O(allowed)), a bitset otherwise (applied by the sampler's own SIMD passes as they
 * read the row, forge/sampler/kernel.ts; or, for maskLogitsInPlace, a masked copy in one SIMD
 * pass, forge/ttfa/mask-kernel.ts). Cached per table up to MAX_CACHED_MASK_WORDS; past it,
 * masks are rebuilt per use (slower, same result).
 *
 * Forms: `maskLogitsInPlace` on a host Float32Array, `sampleConstrainedHost` (the engine's
 * wasm/cpu path: every row sampled once, constrained ones from a compact row or in place under
 * their bitset),
 * and `maskLogitsTensor` on a tfjs tensor (one gather of [S, W] bias rows — 0 or −∞ — by the
 * states, and one add: nothing leaves the device). Columns at or past the vocabulary (a model
 * whose logits are wider than its tokenizer's vocabulary) are never allowed in a constrained
 * state.
 */
import * as tf from "@tensorflow/tfjs";
import { allowedTokens, type ConstraintTable } from "./constraint.js";
import { TtfaError } from "./errors.js";
import { maskedRowCopies, type HostHeap } from "./mask-kernel.js";

/** 32-bit words of allowed lists and bitsets cached per table (16 MiB); a table's `next` is bounded by MAX_CONSTRAINT_TABLE_CELLS. */
export const MAX_CACHED_MASK_WORDS = 2 ** 22;

interface MaskCache {
  allowed: Array<Int32Array | undefined>;
  bits: Array<Uint32Array | undefined>;
  words: number;
}

const caches = new WeakMap<ConstraintTable, MaskCache>();

function cacheOf(table: ConstraintTable): MaskCache {
  let cache = caches.get(table);
  if (!cache) caches.set(table, (cache = { allowed: new Array(table.stateCount), bits: new Array(table.stateCount), words: 0 }));
  return cache;
}

/** Tokens `state` allows, ascending (cached: a state's list is read at every step it is in). */
export function allowedList(table: ConstraintTable, state: number): Int32Array {
  const cache = cacheOf(table);
  const cached = cache.allowed[state];
  if (cached) return cached;
  const list = allowedTokens(table, state);
  if (cache.words + list.length <= MAX_CACHED_MASK_WORDS) {
    cache.allowed[state] = list;
    cache.words += list.length;
  }
  return list;
}

/** Bit v of word v >> 5 set when `state` allows token v (ids below the vocabulary; cached like allowedList). */
export function allowedBits(table: ConstraintTable, state: number): Uint32Array {
  const cache = cacheOf(table);
  const cached = cache.bits[state];
  if (cached) return cached;
  const vocab = table.columns - 1;
  const bits = new Uint32Array(Math.ceil(vocab / 32));
  const next = table.next;
  const base = state * table.columns;
  for (let v = 0; v < vocab; v++) if (next[base + v]! >= 0) bits[v >>> 5] = bits[v >>> 5]! | (1 << (v & 31));
  if (cache.words + bits.length <= MAX_CACHED_MASK_WORDS) {
    cache.bits[state] = bits;
    cache.words += bits.length;
  }
  return bits;
}

/** Allowed tokens below `width` (a prefix of the ascending list). */
function allowedBelow(allowed: Int32Array, width: number): number {
  let n = allowed.length;
  while (n > 0 && allowed[n - 1]! >= width) n--;
  return n;
}

function checkState(table: ConstraintTable, state: number): void {
  if (!Number.isInteger(state) || state < 0 || state >= table.stateCount) throw new TtfaError(`constraint state ${state} is outside the table (0..${table.stateCount - 1})`);
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
  for (let r = 0; r < states.length; r++) {
    const state = states[r]!;
    if (state === 0) continue;
    checkState(table, state);
    const base = r * width;
    const allowed = allowedList(table, state);
    const n = allowedBelow(allowed, width);
    if (n * 2 <= width) {
      // Few allowed: keep their values, fill, put them back.
      if (keepScratch.length < n) keepScratch = new Float32Array(n);
      for (let k = 0; k < n; k++) keepScratch[k] = logits[base + allowed[k]!]!;
      logits.fill(-Infinity, base, base + width);
      for (let k = 0; k < n; k++) logits[base + allowed[k]!] = keepScratch[k]!;
    } else {
      logits.set(maskedRowCopies(logits, width, [r], () => allowedBits(table, state)), base);
    }
    masked++;
  }
  return masked;
}

let keepScratch = new Float32Array(64);

/** Draws one token from `row` (its first `width` values are the logits), for logits row `rowIndex`: the engine's seeded sampler on one row. */
export type RowDraw = (row: Float32Array, width: number, rowIndex: number) => number;

/**
 * Draws one token for each of the rows `rows` of `logits` ([R, width], row-major, read where
 * they lie) with the seeded sampler keyed as that logits row, as if row r's logits were −∞
 * wherever `masks(r)` (a bitset: bit v of word v >> 5 set, token v allowed) has a clear bit
 * (null: the row is free), into `out[r]`. The engine's sampler on several rows
 * (forge/sampler/host.ts sampleTokensHost with a RowSelection).
 */
export type RowsDraw = (logits: Float32Array, width: number, rows: Int32Array, masks: (row: number) => Uint32Array | null, out: Int32Array) => void;

let compactValues = new Float32Array(256);

/** Row r's draw among the `n` allowed tokens below the width, from a compact row of their logits (id order). */
function drawCompact(logits: Float32Array, width: number, r: number, allowed: Int32Array, n: number, draw: RowDraw): number {
  if (compactValues.length < n) compactValues = new Float32Array(n);
  const values = compactValues;
  const base = r * width;
  for (let k = 0; k < n; k++) values[k] = logits[base + allowed[k]!]!;
  return allowed[draw(values.subarray(0, n), n, r)]!;
}

/**
 * One token per row of `logits` ([R, width], row-major, not modified): a narrow state's row
 * (allowing at most half the columns) by `draw` on a compact row of its allowed tokens, in id
 * order — −∞ entries carry no mass, so temperature, top-k and top-p give the masked
 * distribution, at O(allowed) instead of O(vocabulary); every other row (free, or a broad
 * state's, with its bitset) by one `drawRows` call that samples them where they lie, the
 * masks applied inside the sampler's passes (no copies). The draws are those of the sampler
 * on the fully masked rows (it draws each row independently of the others;
 * test/forge/ttfa/mask.test.ts).
 *
 * `heap`: the memory the logits lie in (the tfjs wasm heap). Any call may grow it: the
 * logits are read through a fresh view after `drawRows`.
 */
export function sampleConstrainedHost(logits: Float32Array, width: number, states: ArrayLike<number>, table: ConstraintTable, drawRows: RowsDraw, draw: RowDraw, heap?: HostHeap): Int32Array {
  const R = states.length;
  if (logits.length !== R * width) throw new TtfaError(`logits hold ${logits.length} values, expected ${R} rows × ${width}`);
  const onHeap = heap !== undefined && logits.buffer === heap.memory.buffer ? heap : undefined;
  const byteOffset = logits.byteOffset;
  // A growing heap detaches the views made before: read the logits through a fresh one.
  const view = () => (onHeap && logits.buffer !== onHeap.memory.buffer ? (logits = new Float32Array(onHeap.memory.buffer, byteOffset, R * width)) : logits);
  const tokens = new Int32Array(R);
  // Each row: drawn at once when narrow; else its bitset when broad, null when plain (free, or
  // a state that allows every column: its masked row is the row itself), all sampled in one
  // call after. Scratch kept between calls (the engine calls this every step).
  if (rowScratch.length < R) rowScratch = new Int32Array(R);
  maskScratch.length = R;
  let sampled = 0;
  for (let r = 0; r < R; r++) {
    const state = states[r]!;
    maskScratch[r] = null;
    if (state !== 0) {
      checkState(table, state);
      const allowed = allowedList(table, state);
      const n = allowedBelow(allowed, width);
      if (n * 2 <= width) {
        tokens[r] = drawCompact(view(), width, r, allowed, n, draw);
        continue;
      }
      if (n < width) maskScratch[r] = allowedBits(table, state);
    }
    rowScratch[sampled++] = r;
  }
  if (sampled > 0) drawRows(view(), width, rowScratch.subarray(0, sampled), maskOf, tokens);
  maskScratch.fill(null); // no bitset kept alive past the call
  return tokens;
}

/** sampleConstrainedHost's per-row bitsets (null: sampled free) and sampled rows. */
const maskScratch: Array<Uint32Array | null> = [];
let rowScratch = new Int32Array(64);
const maskOf = (r: number): Uint32Array | null => maskScratch[r] ?? null;

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
 * on a typed-array copy (maskLogitsInPlace); elsewhere (GPU) with tensor ops on the device, `states` uploaded or given as a tensor.
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
