/**
 * Top-k / top-p sampling of one row on typed arrays, for the host sampler (host.ts): the
 * same draws as the tensor sampler (sample.ts) bit for bit. The tensor path sorts the
 * width-w top (w = k, or the vocabulary) in tfjs TopK's order (value descending, then index
 * ascending), takes its softmax in that order (XNNPACK's four-lane sums, kernel.ts), keeps
 * the prefix whose exclusive cumulative mass is < p, and inverts the CDF of the kept
 * probabilities. Top-k selects with a heap (no sort of the vocabulary); top-p sorts only the
 * tokens whose exp(x − max) can still change a float32 sum (by value buckets, see
 * bucketRank): a token below the fourth largest logit by more than 17.5 adds less than half
 * a unit in the last place to every partial sum it meets (exp(−17.5) < 2^−25), so the tensor
 * path's sums do not depend on where it sits.
 */
import { expScalar, type SamplerKernel } from "./kernel.js";

const f32 = Math.fround;
/** Tokens more than this below the fourth largest logit cannot change a float32 partial sum (see above). */
const NEGLIGIBLE_BELOW = 17.5;
/** Up to this width top-k keeps a heap of the best k; above it, the negligible-token cut. */
const HEAP_WIDTH = 64;

/**
 * The row being sampled, as host.ts's row sampler holds it: views of one memory (the SIMD
 * module's, or plain arrays without it), the element offsets of the row's values (x), of
 * exp(x − max) (e) and of the cumulative sums (c) — one region, each pass overwriting the
 * one before in place —, the row's width n, and the SIMD module (null: plain JavaScript).
 */
export interface FilteredRow {
  readonly mem: Float32Array;
  readonly bits: Uint32Array;
  readonly at: { readonly x: number; readonly e: number; readonly c: number };
  readonly n: number;
  readonly kernel: SamplerKernel | null;
}

/**
 * Top-k / top-p. The tensor path sorts the width-w top (w = k, or the vocabulary), takes
 * its softmax in that order, keeps the prefix whose mass before each token is < p, and
 * inverts the CDF of the kept probabilities.
 */
export function sampleFiltered(row: FilteredRow, width: number, topP: number | null, u: number): number {
  const { order, known } = ranked(row, width);
  // The ranked values, padded with −∞ (exp 0, a no-op in every sum) to whole lanes.
  const x = row.mem;
  const base = row.at.x;
  const w4 = width & ~3;
  const lanes = Math.min((known + 3) & ~3, w4);
  const values = new Float32Array(known);
  for (let r = 0; r < known; r++) values[r] = x[base + order[r]!]!;
  x.set(values, base);
  for (let r = known; r < lanes; r++) x[base + r] = -Infinity;
  const max = values[0]!;
  let sum = expLanes(row, base, lanes, max);
  const e = row.at.e;
  for (let r = w4; r < known; r++) {
    const v = expScalar(values[r]! - max);
    x[e + r] = v;
    sum = f32(sum + v);
  }
  const scale = f32(1 / sum);
  // Kept: the ranks whose exclusive cumulative mass is below p (the tokens past `known`
  // add nothing to any float32 sum, so the kept ranks that matter end at `known`).
  const p = topP === null ? Infinity : f32(topP);
  const c = row.at.c;
  let before = 0;
  let kept = 0;
  while (kept < known && before < p) {
    before = kept === 0 ? f32(x[e]! * scale) : f32(f32(x[e + kept]! * scale) + before);
    x[c + kept] = before; // inclusive cumsum of the kept probabilities
    kept++;
  }
  const total = x[c + kept - 1]!;
  const column = Math.min(firstAtLeast(row.mem, c, kept, f32(u * total)), width - 1);
  if (column >= known) throw new Error("internal: sampled past the ranked tokens");
  return order[column]!;
}

/**
 * The top of the row in tfjs TopK's order (value descending, index ascending): the
 * first `width` entries, or fewer (`known`) when the rest cannot change the float32
 * sums (see NEGLIGIBLE_BELOW).
 */
function ranked(row: FilteredRow, width: number): { order: Int32Array; known: number } {
  if (width <= HEAP_WIDTH) return { order: heapTop(row, width), known: width };
  const x = row.mem;
  const base = row.at.x;
  const n = row.n;
  const cut = x[base + heapTop(row, 4)[3]!]! - NEGLIGIBLE_BELOW;
  let count = 0;
  for (let i = 0; i < n; i++) if (x[base + i]! >= cut) count++;
  const indices = new Int32Array(count);
  count = 0;
  for (let i = 0; i < n; i++) if (x[base + i]! >= cut) indices[count++] = i;
  const order = bucketRank(indices, row.mem, row.bits, base);
  const known = Math.min(count, width);
  return { order: known < count ? order.subarray(0, known) : order, known };
}

/** The best k indices (k ≤ n) in TopK order, by a min-heap of the best seen so far. */
function heapTop(row: FilteredRow, k: number): Int32Array {
  const x = row.mem;
  const base = row.at.x;
  const n = row.n;
  // heap[0] is the worst kept: the lowest value, on ties the highest index.
  const heap = new Int32Array(k);
  const value = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const v = x[base + i]!;
    let at = i;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      // Earlier indices win ties, so index i is worse than any kept entry of equal value.
      if (!(v <= value[parent]!)) break;
      heap[at] = heap[parent]!;
      value[at] = value[parent]!;
      at = parent;
    }
    heap[at] = i;
    value[at] = v;
  }
  for (let i = k; i < n; i++) {
    const v = x[base + i]!;
    // A later index never beats an equal value: strictly larger only.
    if (!(v > value[0]!)) continue;
    let at = 0;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= k) break;
      const r = l + 1;
      let child = l;
      if (r < k && (value[r]! < value[l]! || (value[r] === value[l] && heap[r]! > heap[l]!))) child = r;
      const cv = value[child]!;
      if (!(cv < v || (cv === v && heap[child]! > i))) break;
      heap[at] = heap[child]!;
      value[at] = cv;
      at = child;
    }
    heap[at] = i;
    value[at] = v;
  }
  heap.sort(); // ascending index, then a stable sort by value
  return radixRank(heap, row.bits, base);
}

/** exp(x − max) of the n4 values at `at` (a multiple of 4) into the e region; the four lanes' sum, reduced as XNNPACK does. */
export function expLanes(row: FilteredRow, at: number, n4: number, max: number): number {
  const e = row.at.e;
  if (row.kernel) return row.kernel.expsum(at * 4, e * 4, n4, max);
  const x = row.mem;
  const lane = [0, 0, 0, 0];
  for (let i = 0; i < n4; i++) {
    const v = expScalar(x[at + i]! - max);
    x[e + i] = v;
    lane[i & 3] = f32(lane[i & 3]! + v);
  }
  return f32(f32(lane[0]! + lane[2]!) + f32(lane[1]! + lane[3]!));
}

/** The number of the n non-decreasing values at `at` of `x` that are below `target` (binary search). */
export function firstAtLeast(x: Float32Array, at: number, n: number, target: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x[at + mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `indices` (ascending) reordered as TopK orders them: value descending, equal values in
 * ascending index. A stable least-significant-digit radix sort (11-bit digits) on a key
 * whose ascending order is descending value; −0 counts as +0, as the comparison does.
 */
function radixRank(indices: Int32Array, bits: Uint32Array, base: number): Int32Array {
  const n = indices.length;
  let keys = new Uint32Array(n);
  for (let r = 0; r < n; r++) {
    let b = bits[base + indices[r]!]!;
    if (b === 0x80000000) b = 0;
    const ascending = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    keys[r] = 0xffffffff - ascending;
  }
  let order = indices.slice();
  let nextKeys = new Uint32Array(n);
  let nextOrder = new Int32Array(n);
  const counts = new Int32Array(2048);
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let r = 0; r < n; r++) counts[(keys[r]! >>> shift) & 2047]!++;
    if (counts[(keys[0]! >>> shift) & 2047] === n) continue; // one digit for all: nothing moves
    let sum = 0;
    for (let d = 0; d < 2048; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let r = 0; r < n; r++) {
      const k = keys[r]!;
      const at = counts[(k >>> shift) & 2047]!++;
      nextKeys[at] = k;
      nextOrder[at] = order[r]!;
    }
    [keys, nextKeys] = [nextKeys, keys];
    [order, nextOrder] = [nextOrder, order];
  }
  return order;
}

/** Buckets up to this size are sorted by insertion; larger ones (values bunched together) by radixRank. */
const INSERTION_BUCKET = 32;

/**
 * radixRank's order (value descending, equal values in ascending index; −0 as +0) in about
 * one pass: one bucket per index by (max − value), linear in the value, so the buckets come
 * in value order; a stable scatter keeps each bucket in ascending index; then each bucket is
 * sorted alone, by insertion (stable, so ties stay in index order), or by radixRank where
 * many values share one (which keeps the whole linear in the row). Rows with an infinite
 * value go to radixRank whole.
 */
function bucketRank(indices: Int32Array, x: Float32Array, bits: Uint32Array, base: number): Int32Array {
  const n = indices.length;
  const values = new Float64Array(n);
  let max = -Infinity;
  let min = Infinity;
  for (let r = 0; r < n; r++) {
    const v = x[base + indices[r]!]!;
    values[r] = v;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  if (n <= 1 || !Number.isFinite(max - min)) return radixRank(indices, bits, base);
  const scale = max > min ? n / (max - min) : 0;
  const bucketOf = new Int32Array(n);
  const starts = new Int32Array(n + 1);
  for (let r = 0; r < n; r++) {
    // Monotone in the value: a larger value never lands in a later bucket.
    const b = Math.min(n - 1, ((max - values[r]!) * scale) | 0);
    bucketOf[r] = b;
    starts[b + 1]!++;
  }
  for (let b = 0; b < n; b++) starts[b + 1]! += starts[b]!;
  const order = new Int32Array(n);
  const sorted = new Float64Array(n);
  const next = starts.slice(0, n);
  for (let r = 0; r < n; r++) {
    const at = next[bucketOf[r]!]!++;
    order[at] = indices[r]!;
    sorted[at] = values[r]!;
  }
  for (let b = 0; b < n; b++) {
    const from = starts[b]!;
    const to = starts[b + 1]!;
    if (to - from < 2) continue;
    if (to - from > INSERTION_BUCKET) {
      order.set(radixRank(order.subarray(from, to), bits, base), from);
      continue;
    }
    for (let r = from + 1; r < to; r++) {
      const id = order[r]!;
      const v = sorted[r]!;
      let at = r;
      // Strictly larger values move ahead; equal ones keep their (ascending index) order.
      while (at > from && v > sorted[at - 1]!) {
        order[at] = order[at - 1]!;
        sorted[at] = sorted[at - 1]!;
        at--;
      }
      order[at] = id;
      sorted[at] = v;
    }
  }
  return order;
}
